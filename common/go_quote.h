// Go's strconv.Quote (fmt's %q), which Go programs use to show a value inside an error or a
// log line; the programs that repeat such texts (toxiproxy-cli's errors, Go's URL errors,
// k6's logrus lines) quote with it.
#pragma once

#include <string>
#include <string_view>

namespace faultline {

// `s` in double quotes: quotes and backslashes escaped, \a \b \f \n \r \t \v by name,
// other control bytes and DEL as \x.., every other byte (UTF-8 text) as it is.
std::string go_quote(std::string_view s);

}  // namespace faultline
