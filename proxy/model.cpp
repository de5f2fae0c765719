#include "proxy/model.h"

namespace faultline::proxy {

Toxic* Proxy::find_toxic(std::string_view name) {
  for (auto& chain : toxics) {
    for (auto& t : chain) {
      if (t.name == name) return &t;
    }
  }
  return nullptr;
}

void write_toxic(json::Writer& w, const Toxic& t) {
  w.begin_object().key("attributes").begin_object();
  for (size_t i = 0; i < t.type->attributes.size(); ++i) {
    const auto& spec = t.type->attributes[i];
    if (spec.optional && t.attributes[i] == 0) continue;
    w.key(spec.name);
    if (spec.is_text()) {
      w.string(t.texts.at(i));
    } else if (spec.choices.empty()) {
      w.integer(t.attributes[i]);
    } else {
      w.string(spec.choices.at(static_cast<size_t>(t.attributes[i])));
    }
  }
  w.end_object();
  w.key("name").string(t.name);
  w.key("type").string(t.type->name);
  w.key("stream").string(t.stream);
  w.key("toxicity").float32(t.toxicity);
  w.end_object();
}

void write_proxy(json::Writer& w, const Proxy& p) {
  w.begin_object();
  w.key("name").string(p.name);
  w.key("listen").string(p.listen);
  w.key("upstream").string(p.upstream);
  w.key("enabled").boolean(p.enabled);
  w.key("Logger").begin_object().end_object();
  w.key("toxics").begin_array();
  for (const auto& chain : p.toxics) {
    for (const auto& t : chain) write_toxic(w, t);
  }
  w.end_array();
  w.end_object();
}

}  // namespace faultline::proxy
