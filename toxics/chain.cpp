#include "toxics/chain.h"

#include <algorithm>

namespace faultline::toxics {

// A stage in the chain; also the sink through which the stage feeds the next one.
struct ToxicChain::Slot : Sink {
  ToxicChain* chain = nullptr;
  size_t index = 0;
  ToxicSpec spec;
  bool active = false;
  std::unique_ptr<Stage> stage;

  void push(Item item, Time now) override { chain->deliver(index + 1, std::move(item), now); }

  void draw(Random& rng) {
    bool was_active = active;
    if (spec.type->per_message) {
      active = true;  // the stage draws for each message it matches
      stage->set_toxicity(spec.toxicity);
    } else {
      active = uniform01(rng) < static_cast<double>(spec.toxicity);
    }
    if (active && !was_active && chain->activated_) chain->activated_(spec);
  }

  // Restarting a stage draws its toxicity again; one that turns inactive hands over what
  // it holds.
  void redraw(Random& rng, Time now) {
    bool was_active = active;
    draw(rng);
    if (was_active && !active) stage->flush(now);
  }
};

ToxicChain::ToxicChain(Sink& out, Random& rng, const uint64_t* replies)
    : out_(out), rng_(rng), replies_(replies) {}
ToxicChain::~ToxicChain() = default;

void ToxicChain::deliver(size_t index, Item item, Time now) {
  while (index < slots_.size() && !slots_[index]->active) ++index;
  if (index >= slots_.size()) {
    out_.push(std::move(item), now);
    return;
  }
  slots_[index]->stage->on_item(std::move(item), now);
}

void ToxicChain::on_timer(Time now) {
  // A stage's output can give a later stage something due now; a few passes settle it.
  for (int pass = 0; pass < 64; ++pass) {
    bool ran = false;
    for (size_t i = 0; i < slots_.size(); ++i) {
      if (!slots_[i]->active) continue;
      auto d = slots_[i]->stage->deadline();
      if (d && *d <= now) {
        slots_[i]->stage->on_timer(now);
        ran = true;
      }
    }
    if (!ran) break;
  }
}

std::optional<Time> ToxicChain::deadline() const {
  std::optional<Time> best;
  for (const auto& s : slots_) {
    if (!s->active) continue;
    auto d = s->stage->deadline();
    if (d && (!best || *d < *best)) best = d;
  }
  return best;
}

size_t ToxicChain::held_bytes() const {
  size_t n = 0;
  for (const auto& s : slots_) n += s->stage->held_bytes();
  return n;
}

size_t ToxicChain::active_count() const {
  return static_cast<size_t>(
      std::count_if(slots_.begin(), slots_.end(), [](const auto& s) { return s->active; }));
}

bool ToxicChain::filters_replies() const {
  return !retired_.empty() || std::any_of(slots_.begin(), slots_.end(), [](const auto& s) {
    return s->active && s->stage->filters_replies();
  });
}

void ToxicChain::filter_reply(Item item, Time now, Sink& out) {
  // The stage nearest the server sees the replies first.
  std::vector<Item> items;
  items.push_back(std::move(item));
  for (size_t i = slots_.size(); i-- > 0;) {
    Slot& slot = *slots_[i];
    if (!slot.active || !slot.stage->filters_replies()) continue;
    std::vector<Item> next;
    for (auto& it : items) slot.stage->on_reply(std::move(it), now, next);
    items = std::move(next);
  }
  for (auto& slot : retired_) {
    std::vector<Item> next;
    for (auto& it : items) slot->stage->on_reply(std::move(it), now, next);
    items = std::move(next);
  }
  std::erase_if(retired_, [](const auto& slot) { return slot->stage->settled(); });
  for (auto& it : items) out.push(std::move(it), now);
}

void ToxicChain::renumber() {
  for (size_t i = 0; i < slots_.size(); ++i) slots_[i]->index = i;
}

void ToxicChain::apply(const std::vector<ToxicSpec>& specs, Time now, bool midstream) {
  // 1. Removed toxics: hand over what they hold, then drop them. Removing a timeout toxic
  //    closes the connection, whether or not it was active (Toxiproxy's behaviour).
  for (size_t i = 0; i < slots_.size();) {
    Slot& slot = *slots_[i];
    bool kept = std::any_of(specs.begin(), specs.end(),
                            [&](const ToxicSpec& s) { return s.id == slot.spec.id; });
    if (kept) {
      ++i;
      continue;
    }
    if (slot.active) slot.stage->flush(now);
    bool closes = slot.spec.type->name == timeout_type().name;
    // A protocol toxic still owed replies it must drop keeps reading them, and goes when
    // it has had them.
    if (slot.active && slot.stage->filters_replies() && !slot.stage->settled()) {
      retired_.push_back(std::move(slots_[i]));
    }
    slots_.erase(slots_.begin() + static_cast<std::ptrdiff_t>(i));
    renumber();
    if (i > 0) slots_[i - 1]->redraw(rng_, now);  // the stage before it restarts
    if (closes) deliver(i, Item{ItemKind::kClose, {}}, now);
  }
  // 2. Updated toxics restart with the new values and draw their toxicity again.
  for (auto& slot : slots_) {
    for (const auto& s : specs) {
      if (s.id != slot->spec.id || s.version == slot->spec.version) continue;
      slot->spec = s;
      slot->stage->set_since(s.since);
      slot->stage->configure_texts(s.texts);
      slot->stage->configure(s.attributes, now);
      slot->redraw(rng_, now);
    }
  }
  // 3. New toxics go on the end of the chain; the previous last stage restarts. Connection
  //    toxics act when a connection starts and have no stage.
  for (const auto& s : specs) {
    if (s.type->create == nullptr) continue;
    bool present = std::any_of(slots_.begin(), slots_.end(),
                               [&](const auto& slot) { return slot->spec.id == s.id; });
    if (present) continue;
    auto slot = std::make_unique<Slot>();
    slot->chain = this;
    slot->spec = s;
    slot->stage = s.type->create();
    slot->stage->attach(slot.get(), &rng_, replies_);
    slot->stage->set_answers(answers_);
    slot->stage->set_request_listener([this, s = slot.get()](RequestFault fault) {
      if (requested_) requested_(s->spec, fault);
    });
    slot->stage->set_since(s.since);
    slot->stage->configure_texts(s.texts);
    slot->stage->configure(s.attributes, now);
    if (midstream) slot->stage->join_midstream();
    if (!slots_.empty()) slots_.back()->redraw(rng_, now);
    slot->draw(rng_);
    slots_.push_back(std::move(slot));
    renumber();
  }
}

}  // namespace faultline::toxics
