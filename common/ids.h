// Request ids in the xid format Toxiproxy uses: 20 characters of [0-9a-v].
#pragma once

#include <string>

namespace faultline {
std::string new_request_id();
}
