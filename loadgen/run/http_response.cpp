#include "loadgen/run/http_response.h"

#include <algorithm>

namespace faultline::loadgen {

ResponseReader::ResponseReader() {
  llhttp_settings_init(&plain_);
  plain_.on_message_complete = &ResponseReader::on_message_complete;
  plain_.on_headers_complete = &ResponseReader::on_headers_complete;
  keeping_ = plain_;
  keeping_.on_header_field = &ResponseReader::on_header_field;
  keeping_.on_header_value = &ResponseReader::on_header_value;
  keeping_.on_body = &ResponseReader::on_body;
}

void ResponseReader::begin(HttpExchange& out, bool head, bool want_headers, bool want_body,
                           size_t body_limit) {
  out_ = &out;
  body_limit_ = want_body ? body_limit : 0;
  llhttp_init(&parser_, HTTP_RESPONSE, want_body || want_headers ? &keeping_ : &plain_);
  parser_.data = this;
  complete_ = false;
  skip_body_ = head;
  in_value_ = false;
}

ResponseReader::Step ResponseReader::feed(const char* data, size_t n) {
  if (complete_) return Step::kComplete;
  llhttp_errno_t err = llhttp_execute(&parser_, data, n);
  if (complete_ && (err == HPE_OK || err == HPE_PAUSED)) return Step::kComplete;
  return err == HPE_OK ? Step::kMore : Step::kMalformed;
}

bool ResponseReader::finish() {
  if (complete_) return true;
  llhttp_errno_t end = llhttp_finish(&parser_);
  return complete_ && (end == HPE_OK || end == HPE_PAUSED);
}

int ResponseReader::on_message_complete(llhttp_t* p) {
  static_cast<ResponseReader*>(p->data)->complete_ = true;
  return static_cast<int>(HPE_PAUSED);
}

// A response to HEAD has no body whatever its Content-Length says (1 = skip the body).
// llhttp takes "HTTP/1.1  200" as status 0 and "HTTP/1.1 20" as 20; Go's client (k6's)
// wants three digits, so anything outside 100-999 is a malformed response (found by
// fuzz_http_response).
int ResponseReader::on_headers_complete(llhttp_t* p) {
  if (p->status_code < 100 || p->status_code > 999) return -1;
  return static_cast<ResponseReader*>(p->data)->skip_body_ ? 1 : 0;
}

int ResponseReader::on_header_field(llhttp_t* p, const char* at, size_t n) {
  auto* r = static_cast<ResponseReader*>(p->data);
  auto& headers = r->out_->headers;
  if (headers.empty() || r->in_value_) headers.emplace_back();
  r->in_value_ = false;
  headers.back().first.append(at, n);
  return 0;
}

int ResponseReader::on_header_value(llhttp_t* p, const char* at, size_t n) {
  auto* r = static_cast<ResponseReader*>(p->data);
  auto& headers = r->out_->headers;
  if (headers.empty()) return 0;
  r->in_value_ = true;
  headers.back().second.append(at, n);
  return 0;
}

int ResponseReader::on_body(llhttp_t* p, const char* at, size_t n) {
  auto* r = static_cast<ResponseReader*>(p->data);
  if (r->body_limit_ == 0) return 0;  // headers wanted, body not: read and dropped
  auto& body = r->out_->body;
  if (body.size() < r->body_limit_) {
    body.append(at, std::min(n, r->body_limit_ - body.size()));
  }
  if (n > 0 && body.size() >= r->body_limit_) r->out_->body_truncated = true;
  return 0;
}

}  // namespace faultline::loadgen
