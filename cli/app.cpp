#include "cli/app.h"

#include <algorithm>
#include <cstdio>
#include <map>
#include <string_view>

#include "cli/api.h"
#include "cli/go_text.h"
#include "common/go_quote.h"

namespace faultline::cli {
namespace {

// ---------------------------------------------------------------------------------------
// The command tree, as toxiproxy-cli declares it. "{app}" stands for the program's name.

enum class FlagKind { kString, kBool, kStringSlice };

struct FlagSpec {
  FlagKind kind = FlagKind::kString;
  std::vector<std::string> names;
  std::string usage;
  std::string default_text;  // shown as "(default: ...)" instead of the value
  std::string value;         // a string flag's default
  std::string env;           // environment variable read for the default
};

enum class Action {
  kNone,
  kHelp,
  kList,
  kInspect,
  kCreate,
  kToggle,
  kDelete,
  kToxicAdd,
  kToxicUpdate,
  kToxicRemove
};

struct CommandSpec {
  std::string name;
  std::vector<std::string> aliases;
  std::string usage;
  std::string args_usage;
  std::string description;
  std::vector<FlagSpec> flags;
  std::vector<CommandSpec> subcommands;
  Action action = Action::kNone;
  std::string help_name;  // "<app> create", set when the command's app is built

  std::vector<std::string> names() const {
    std::vector<std::string> all{name};
    all.insert(all.end(), aliases.begin(), aliases.end());
    return all;
  }
  bool has_name(std::string_view n) const {
    return n == name || std::find(aliases.begin(), aliases.end(), n) != aliases.end();
  }
};

// An urfave App: the program itself, or the app a command with subcommands runs.
struct AppSpec {
  std::string name;
  std::string help_name;
  std::string usage;
  std::string description;
  std::string args_usage;
  std::string version;
  bool hide_version = false;
  std::vector<FlagSpec> flags;
  std::vector<CommandSpec> commands;
};

constexpr std::string_view kToxicDescription = R"(
  Default Toxics:
  latency:    delay all data +/- jitter
              latency=<ms>,jitter=<ms>

  bandwidth:  limit to max kb/s
              rate=<KB/s>

  slow_close: delay from closing
              delay=<ms>

  timeout:    stop all data and close after timeout
              timeout=<ms>

  reset_peer: simulate TCP RESET (Connection reset by peer) on the connections by closing
              the stub Input immediately or after a timeout
              timeout=<ms>

  slicer:     slice data into bits with optional delay
              average_size=<bytes>,size_variation=<bytes>,delay=<microseconds>

  toxic add:
    usage: {app} toxic add --type <toxicType> [--downstream|--upstream] \
            --toxicName <toxicName> [--toxicity <float>] \
            --attribute <key=value> [--attribute <key2=value2>] <proxyName>


    example: {app} toxic add -t latency -n myToxic -a latency=100 -a jitter=50 myProxy

  toxic update:
    usage: {app} toxic update --toxicName <toxicName> [--toxicity <float>] \
            --attribute <key1=value1> [--attribute <key2=value2>] <proxyName>

    example: {app} toxic update -n myToxic -a jitter=25 myProxy

  toxic delete:
    usage: {app} toxic delete --toxicName <toxicName> <proxyName>

    example: {app} toxic delete -n myToxic myProxy
)";

std::string with_app(std::string_view text, const std::string& app) {
  std::string out;
  for (size_t i = 0; i < text.size();) {
    if (text.compare(i, 5, "{app}") == 0) {
      out += app;
      i += 5;
    } else {
      out += text[i++];
    }
  }
  return out;
}

FlagSpec string_flag(std::string name, std::string alias, std::string usage,
                     std::string default_text = "") {
  FlagSpec f;
  f.kind = FlagKind::kString;
  f.names = {std::move(name), std::move(alias)};
  f.usage = std::move(usage);
  f.default_text = std::move(default_text);
  return f;
}

FlagSpec bool_flag(std::vector<std::string> names, std::string usage,
                   std::string default_text = "") {
  FlagSpec f;
  f.kind = FlagKind::kBool;
  f.names = std::move(names);
  f.usage = std::move(usage);
  f.default_text = std::move(default_text);
  return f;
}

FlagSpec help_flag() {
  return bool_flag({"help"}, "show help");
}

CommandSpec help_command() {
  CommandSpec c;
  c.name = "help";
  c.aliases = {"h"};
  c.usage = "Shows a list of commands or help for one command";
  c.args_usage = "[command]";
  c.action = Action::kHelp;
  return c;
}

std::vector<CommandSpec> program_commands(const std::string& app) {
  std::vector<CommandSpec> commands;
  CommandSpec list;
  list.name = "list";
  list.aliases = {"l", "li", "ls"};
  list.usage = with_app("list all proxies\n\tusage: '{app} list'\n", app);
  list.action = Action::kList;
  commands.push_back(list);

  CommandSpec inspect;
  inspect.name = "inspect";
  inspect.aliases = {"i", "ins"};
  inspect.usage = with_app("inspect a single proxy\n\tusage: '{app} inspect <proxyName>'\n", app);
  inspect.action = Action::kInspect;
  commands.push_back(inspect);

  CommandSpec create;
  create.name = "create";
  create.aliases = {"c", "new"};
  create.usage = with_app(
      "create a new proxy\n\tusage: '{app} create --listen <addr> --upstream <addr> <proxyName>'\n",
      app);
  create.flags = {string_flag("listen", "l", "proxy will listen on this address"),
                  string_flag("upstream", "u", "proxy will forward to this address")};
  create.action = Action::kCreate;
  commands.push_back(create);

  CommandSpec toggle;
  toggle.name = "toggle";
  toggle.aliases = {"tog"};
  toggle.usage =
      with_app("\ttoggle enabled status on a proxy\n\t\tusage: '{app} toggle <proxyName>'\n", app);
  toggle.action = Action::kToggle;
  commands.push_back(toggle);

  CommandSpec remove;
  remove.name = "delete";
  remove.aliases = {"d"};
  remove.usage = with_app("\tdelete a proxy\n\t\tusage: '{app} delete <proxyName>'\n", app);
  remove.action = Action::kDelete;
  commands.push_back(remove);

  FlagSpec name_flag = string_flag("toxicName", "n", "name of the toxic");
  FlagSpec toxicity_flag =
      string_flag("toxicity", "tox", "toxicity of toxic should be a float between 0 and 1", "1.0");
  FlagSpec attribute_flag;
  attribute_flag.kind = FlagKind::kStringSlice;
  attribute_flag.names = {"attribute", "a"};
  attribute_flag.usage = "toxic attribute in key=value format";

  CommandSpec add;
  add.name = "add";
  add.aliases = {"a"};
  add.usage = "add a new toxic";
  add.args_usage = "<proxyName>";
  add.flags = {name_flag,
               string_flag("type", "t", "type of toxic"),
               toxicity_flag,
               attribute_flag,
               bool_flag({"upstream", "u"}, "add toxic to upstream", "false"),
               bool_flag({"downstream", "d"}, "add toxic to downstream", "true")};
  add.action = Action::kToxicAdd;

  CommandSpec update;
  update.name = "update";
  update.aliases = {"u"};
  update.usage = "update an enabled toxic";
  update.args_usage = "<proxyName>";
  update.flags = {name_flag, toxicity_flag, attribute_flag};
  update.action = Action::kToxicUpdate;

  CommandSpec toxic_remove;
  toxic_remove.name = "remove";
  toxic_remove.aliases = {"r", "delete", "d"};
  toxic_remove.usage = "remove an enabled toxic";
  toxic_remove.args_usage = "<proxyName>";
  toxic_remove.flags = {name_flag};
  toxic_remove.action = Action::kToxicRemove;

  CommandSpec toxic;
  toxic.name = "toxic";
  toxic.aliases = {"t"};
  toxic.usage = with_app("\tadd, remove or update a toxic\n\t\tusage: see '{app} toxic'\n", app);
  toxic.description = with_app(kToxicDescription, app);
  toxic.subcommands = {add, update, toxic_remove};
  commands.push_back(toxic);
  return commands;
}

// ---------------------------------------------------------------------------------------
// Go's flag package over a list of urfave flags. Every alias is a name of its own; a value
// is kept per flag (two names of one flag set together is an error anyway).

class FlagSet {
 public:
  explicit FlagSet(const std::vector<FlagSpec>& specs) : specs_(specs) {
    for (const auto& s : specs_) values_.push_back(s.kind == FlagKind::kBool ? "false" : s.value);
    slices_.resize(specs_.size());
  }

  // Parses args[from..]; returns Go's error text or "".
  std::string parse(const std::vector<std::string>& args, size_t from) {
    size_t i = from;
    while (i < args.size()) {
      const std::string& a = args[i];
      if (a.size() < 2 || a[0] != '-') break;
      size_t dashes = 1;
      if (a[1] == '-') {
        dashes = 2;
        if (a.size() == 2) {
          ++i;
          break;
        }
      }
      std::string name = a.substr(dashes);
      if (name.empty() || name[0] == '-' || name[0] == '=') return "bad flag syntax: " + a;
      ++i;
      bool has_value = false;
      std::string value;
      for (size_t k = 1; k < name.size(); ++k) {
        if (name[k] == '=') {
          value = name.substr(k + 1);
          has_value = true;
          name.resize(k);
          break;
        }
      }
      int index = find(name);
      if (index < 0) {
        if (name == "help" || name == "h") return "flag: help requested";
        return "flag provided but not defined: -" + name;
      }
      const FlagSpec& spec = specs_[static_cast<size_t>(index)];
      if (spec.kind == FlagKind::kBool) {
        if (has_value) {
          auto b = parse_go_bool(value);
          if (!b)
            return "invalid boolean value " + go_quote(value) + " for -" + name + ": parse error";
          values_[static_cast<size_t>(index)] = *b ? "true" : "false";
        } else {
          values_[static_cast<size_t>(index)] = "true";
        }
      } else {
        if (!has_value && i < args.size()) {
          value = args[i++];
          has_value = true;
        }
        if (!has_value) return "flag needs an argument: -" + name;
        if (spec.kind == FlagKind::kStringSlice) {
          slices_[static_cast<size_t>(index)].push_back(value);
        } else {
          values_[static_cast<size_t>(index)] = value;
        }
      }
      if (std::find(visited_.begin(), visited_.end(), name) == visited_.end())
        visited_.push_back(name);
    }
    rest_.assign(args.begin() + static_cast<std::ptrdiff_t>(std::min(i, args.size())), args.end());
    return "";
  }

  // urfave's normalizeFlags: two names of one flag on the same command line.
  std::string normalize() const {
    for (const auto& spec : specs_) {
      if (spec.names.size() < 2) continue;
      std::string first;
      for (const auto& n : spec.names) {
        if (std::find(visited_.begin(), visited_.end(), n) == visited_.end()) continue;
        if (!first.empty()) return "Cannot use two forms of the same flag: " + n + " " + first;
        first = n;
      }
    }
    return "";
  }

  bool defines(std::string_view name) const { return find(name) >= 0; }
  // The flag's value as Go's flag.Value.String() gives it ("" when undefined).
  std::string value(std::string_view name) const {
    int i = find(name);
    if (i < 0) return "";
    if (specs_[static_cast<size_t>(i)].kind == FlagKind::kStringSlice) return "[]";
    return values_[static_cast<size_t>(i)];
  }
  std::vector<std::string> slice(std::string_view name) const {
    int i = find(name);
    return i < 0 ? std::vector<std::string>{} : slices_[static_cast<size_t>(i)];
  }
  const std::vector<std::string>& rest() const { return rest_; }
  std::string first_arg() const { return rest_.empty() ? "" : rest_[0]; }

 private:
  int find(std::string_view name) const {
    for (size_t i = 0; i < specs_.size(); ++i) {
      for (const auto& n : specs_[i].names) {
        if (n == name) return static_cast<int>(i);
      }
    }
    return -1;
  }

  std::vector<FlagSpec> specs_;
  std::vector<std::string> values_;
  std::vector<std::vector<std::string>> slices_;
  std::vector<std::string> visited_;
  std::vector<std::string> rest_;
};

// A context's flag sets, innermost first (urfave looks a name up through its lineage).
using Lineage = std::vector<const FlagSet*>;

std::string lookup_string(const Lineage& lineage, std::string_view name) {
  for (const auto* set : lineage) {
    if (set->defines(name)) return set->value(name);
  }
  return "";
}

bool lookup_bool(const Lineage& lineage, std::string_view name) {
  auto b = parse_go_bool(lookup_string(lineage, name));
  return b && *b;
}

// ---------------------------------------------------------------------------------------
// Help, as urfave/cli's templates render it through text/tabwriter.

// A string slice flag's "default" is its value object, which parsing appends to: help shown
// after a command line was read lists the values given (urfave shares the object).
using SliceValues = std::map<std::string, std::vector<std::string>>;

std::string flag_line(const FlagSpec& f, const SliceValues* slices = nullptr) {
  bool placeholder = f.kind != FlagKind::kBool;
  std::string names;
  for (size_t i = 0; i < f.names.size(); ++i) {
    names += (f.names[i].size() == 1 ? "-" : "--") + f.names[i];
    if (placeholder) names += " value";
    if (i + 1 < f.names.size()) names += ", ";
  }
  std::string shown_default;
  if (f.kind == FlagKind::kStringSlice && slices != nullptr) {
    std::string given;
    if (auto it = slices->find(f.names[0]); it != slices->end()) {
      for (const auto& v : it->second) {
        if (!v.empty()) given += (given.empty() ? "" : ", ") + go_quote(v);
      }
    }
    if (!given.empty()) shown_default = " (default: " + given + ")";
  } else if (f.kind != FlagKind::kStringSlice) {
    if (!f.default_text.empty()) {
      shown_default = " (default: " + f.default_text + ")";
    } else if (f.kind == FlagKind::kBool) {
      shown_default = " (default: false)";
    } else if (!f.value.empty()) {
      shown_default = " (default: " + go_quote(f.value) + ")";
    }
  }
  std::string usage = f.usage + shown_default;
  // strings.TrimSpace
  size_t b = usage.find_first_not_of(" \t\n\r\v\f");
  size_t e = usage.find_last_not_of(" \t\n\r\v\f");
  usage = b == std::string::npos ? "" : usage.substr(b, e - b + 1);
  std::string line = names + "\t" + usage;
  if (!f.env.empty()) line += " [$" + f.env + "]";
  return line;
}

std::string trim_space(std::string s) {
  size_t b = s.find_first_not_of(" \t\n\r\v\f");
  if (b == std::string::npos) return "";
  size_t e = s.find_last_not_of(" \t\n\r\v\f");
  return s.substr(b, e - b + 1);
}

// {{.Description | nindent 3 | trim}}
std::string indented_description(const std::string& d) {
  std::string out = "\n   ";
  for (char c : d) {
    out += c;
    if (c == '\n') out += "   ";
  }
  return trim_space(out);
}

std::string join_names(const CommandSpec& c) {
  std::string out;
  for (const auto& n : c.names()) out += (out.empty() ? "" : ", ") + n;
  return out;
}

std::string app_help(const AppSpec& a) {
  std::string t = "NAME:\n   " + a.name;
  if (!a.usage.empty()) t += " - " + a.usage;
  t += "\n\nUSAGE:\n   " + a.help_name;
  if (!a.flags.empty()) t += " [global options]";
  if (!a.commands.empty()) t += " command [command options]";
  t += " " + (a.args_usage.empty() ? std::string("[arguments...]") : a.args_usage);
  if (!a.version.empty() && !a.hide_version) t += "\n\nVERSION:\n   " + a.version;
  if (!a.description.empty()) t += "\n\nDESCRIPTION:\n   " + indented_description(a.description);
  if (!a.commands.empty()) {
    t += "\n\nCOMMANDS:";
    for (const auto& c : a.commands) t += "\n   " + join_names(c) + "\t" + c.usage;
  }
  if (!a.flags.empty()) {
    t += "\n\nGLOBAL OPTIONS:\n   ";
    for (size_t i = 0; i < a.flags.size(); ++i) {
      if (i > 0) t += "\n   ";
      t += flag_line(a.flags[i]);
    }
  }
  t += "\n";
  return tabwriter_layout(t);
}

std::string command_help(const CommandSpec& c, bool with_help_flag, const SliceValues* slices) {
  std::vector<FlagSpec> flags = c.flags;
  if (with_help_flag) flags.push_back(help_flag());
  std::string t = "NAME:\n   " + c.help_name + " - " + c.usage + "\n\nUSAGE:\n   " + c.help_name;
  if (!flags.empty()) t += " [command options]";
  t += " " + (c.args_usage.empty() ? std::string("[arguments...]") : c.args_usage);
  if (!c.description.empty()) t += "\n\nDESCRIPTION:\n   " + indented_description(c.description);
  if (!flags.empty()) {
    t += "\n\nOPTIONS:\n   ";
    for (const auto& f : flags) t += flag_line(f, slices) + "\n   ";
  }
  t += "\n";
  return tabwriter_layout(t);
}

std::string subcommand_help(const AppSpec& a) {
  std::string t =
      "NAME:\n   " + a.help_name + " - " + a.usage + "\n\nUSAGE:\n   " + a.help_name + " command";
  if (!a.flags.empty()) t += " [command options]";
  t += " " + (a.args_usage.empty() ? std::string("[arguments...]") : a.args_usage);
  if (!a.description.empty()) t += "\n\nDESCRIPTION:\n   " + indented_description(a.description);
  t += "\n\nCOMMANDS:";
  for (const auto& c : a.commands) t += "\n   " + join_names(c) + "\t" + c.usage;
  if (!a.flags.empty()) {
    t += "\n\nOPTIONS:\n   ";
    for (const auto& f : a.flags) t += flag_line(f) + "\n   ";
  }
  t += "\n";
  return tabwriter_layout(t);
}

// ---------------------------------------------------------------------------------------

constexpr std::string_view kRed = "\x1b[31m";
constexpr std::string_view kGreen = "\x1b[32m";
constexpr std::string_view kYellow = "\x1b[33m";
constexpr std::string_view kBlue = "\x1b[34m";
constexpr std::string_view kPurple = "\x1b[35m";
constexpr std::string_view kNone = "\x1b[0m";

std::string go_arch() {
#if defined(__x86_64__)
  return "amd64";
#elif defined(__aarch64__)
  return "arm64";
#elif defined(__i386__)
  return "386";
#elif defined(__arm__)
  return "arm";
#elif defined(__riscv) && __riscv_xlen == 64
  return "riscv64";
#else
  return "unknown";
#endif
}

class Runner {
 public:
  explicit Runner(const Environment& env) : env_(env) {
    std::string argv0 = env.args.empty() ? "faultline-cli" : env.args[0];
    help_name_ = argv0.substr(argv0.rfind('/') == std::string::npos ? 0 : argv0.rfind('/') + 1);
    app_name_ = help_name_ == "toxiproxy-cli" ? "toxiproxy-cli" : "faultline-cli";
  }

  Outcome run() {
    AppSpec top;
    top.name = app_name_;
    top.help_name = help_name_;
    top.usage = "Simulate network and system conditions";
    top.version = env_.version;
    FlagSpec host = string_flag("host", "h", "toxiproxy host to connect to");
    host.env = "TOXIPROXY_URL";
    host.value = env_.toxiproxy_url ? *env_.toxiproxy_url : "http://localhost:8474";
    top.flags = {host, help_flag(), bool_flag({"version", "v"}, "print the version")};
    top.commands = program_commands(app_name_);
    top.commands.push_back(help_command());
    // urfave names the commands before it appends "help", which keeps an empty name.
    for (auto& c : top.commands) {
      if (c.action != Action::kHelp) c.help_name = top.help_name + " " + c.name;
    }

    FlagSet set(top.flags);
    std::string parse_error = set.parse(env_.args, 1);
    std::string normalize_error = set.normalize();
    if (!normalize_error.empty()) {
      result_.out += normalize_error + "\n" + app_help(top);
      return result_;
    }
    if (!parse_error.empty()) {
      result_.out += "Incorrect Usage. " + parse_error + "\n\n" + app_help(top);
      return result_;
    }
    if (lookup_bool({&set}, "help")) {
      result_.out += app_help(top);
      return result_;
    }
    if (lookup_bool({&set}, "version")) {
      result_.out += top.name + " version " + top.version + "\n";
      return result_;
    }
    hostname_ = set.value("host");
    Lineage lineage{&set};
    const auto& args = set.rest();
    if (!args.empty()) {
      for (const auto& c : top.commands) {
        if (c.has_name(args[0])) {
          run_command(top, c, args, lineage);
          return result_;
        }
      }
      if (!show_command_help(top, args[0])) no_help_topic(args[0]);
      return result_;
    }
    result_.out += app_help(top);
    return result_;
  }

 private:
  void no_help_topic(const std::string& name) {
    result_.err += "No help topic for '" + name + "'\n";
    result_.exit_code = 3;
  }

  // urfave's ShowCommandHelp: "" is the app's subcommand help; false when no command has
  // the name. A command that has run has --help among its flags (urfave adds it then);
  // "help" is one object shared by every app, so once run it has the flag everywhere.
  bool show_command_help(const AppSpec& app, const std::string& name) {
    if (name.empty()) {
      result_.out += subcommand_help(app);
      return true;
    }
    for (const auto& c : app.commands) {
      if (c.has_name(name)) {
        bool ran = std::find(ran_.begin(), ran_.end(), &c) != ran_.end() ||
                   (c.action == Action::kHelp && help_ran_);
        auto parsed = slices_.find(&c);
        result_.out += command_help(c, ran, parsed == slices_.end() ? nullptr : &parsed->second);
        return true;
      }
    }
    return false;
  }

  void run_command(const AppSpec& app, const CommandSpec& cmd, const std::vector<std::string>& args,
                   const Lineage& parent) {
    if (!cmd.subcommands.empty()) {
      run_sub_app(app, cmd, args, parent);
      return;
    }
    ran_.push_back(&cmd);
    if (cmd.action == Action::kHelp) help_ran_ = true;
    std::vector<FlagSpec> flags = cmd.flags;
    flags.push_back(help_flag());
    FlagSet set(flags);
    std::string error = set.parse(args, 1);
    for (const auto& f : cmd.flags) {
      if (f.kind == FlagKind::kStringSlice) slices_[&cmd][f.names[0]] = set.slice(f.names[0]);
    }
    if (error.empty()) error = set.normalize();
    if (!error.empty()) {
      result_.out += "Incorrect Usage: " + error + "\n\n";
      show_command_help(app, cmd.name);
      return;
    }
    Lineage lineage{&set};
    lineage.insert(lineage.end(), parent.begin(), parent.end());
    if (lookup_bool(lineage, "h") || lookup_bool(lineage, "help")) {
      show_command_help(app, cmd.name);
      return;
    }
    Context c{app, cmd, set, lineage};
    switch (cmd.action) {
      case Action::kHelp:
        if (!set.rest().empty()) {
          if (!show_command_help(app, set.rest()[0])) no_help_topic(set.rest()[0]);
        } else {
          result_.out += app_help(app);
        }
        break;
      case Action::kList:
        list();
        break;
      case Action::kInspect:
        inspect(c);
        break;
      case Action::kCreate:
        create(c);
        break;
      case Action::kToggle:
        toggle(c);
        break;
      case Action::kDelete:
        remove_proxy(c);
        break;
      case Action::kToxicAdd:
        toxic_add(c);
        break;
      case Action::kToxicUpdate:
        toxic_update(c);
        break;
      case Action::kToxicRemove:
        toxic_remove(c);
        break;
      case Action::kNone:
        break;
    }
  }

  void run_sub_app(const AppSpec& parent_app, const CommandSpec& cmd,
                   const std::vector<std::string>& args, const Lineage& parent) {
    AppSpec app;
    app.name = parent_app.name + " " + cmd.name;
    app.help_name = app.name;
    app.usage = cmd.usage;
    app.description = cmd.description;
    app.args_usage = cmd.args_usage;
    app.version = parent_app.version;
    app.hide_version = true;
    app.flags = cmd.flags;
    app.flags.push_back(help_flag());
    app.commands = cmd.subcommands;
    app.commands.push_back(help_command());
    for (auto& c : app.commands) c.help_name = app.help_name + " " + c.name;

    FlagSet set(app.flags);
    std::string parse_error = set.parse(args, 1);
    std::string normalize_error = set.normalize();
    if (!normalize_error.empty()) {
      result_.out += normalize_error + "\n\n" + subcommand_help(app);
      return;
    }
    if (!parse_error.empty()) {
      result_.out += "Incorrect Usage. " + parse_error + "\n\n" + subcommand_help(app);
      return;
    }
    Lineage lineage{&set};
    lineage.insert(lineage.end(), parent.begin(), parent.end());
    if (lookup_bool(lineage, "h") || lookup_bool(lineage, "help")) {
      result_.out += subcommand_help(app);
      return;
    }
    const auto& rest = set.rest();
    if (!rest.empty()) {
      for (const auto& c : app.commands) {
        if (c.has_name(rest[0])) {
          run_command(app, c, rest, lineage);
          return;
        }
      }
      if (!show_command_help(app, rest[0])) no_help_topic(rest[0]);
      return;
    }
    result_.out += subcommand_help(app);
  }

  // --- the actions -----------------------------------------------------------------------

  struct Context {
    const AppSpec& app;
    const CommandSpec& cmd;
    const FlagSet& set;
    const Lineage& lineage;
  };

  std::string color(std::string_view c) const { return env_.tty ? std::string(c) : std::string(); }
  std::string color_enabled(bool enabled) const { return color(enabled ? kGreen : kRed); }
  static std::string enabled_text(bool enabled) { return enabled ? "enabled" : "disabled"; }

  void hint(const std::string& m) {
    if (env_.tty) result_.out += "\n" + color(kNone) + "Hint: " + m + "\n";
  }

  void print_width(std::string_view col, const std::string& m, int tabs) {
    if (env_.tty) {
      tabs -= static_cast<int>(m.size() / 8) + 1;
      if (tabs < 0) tabs = 0;
    } else {
      tabs = 0;
    }
    result_.out +=
        color(col) + m + color(kNone) + "\t" + std::string(static_cast<size_t>(tabs), '\t');
  }

  // cli.Exit(message, 1): urfave prints the message and a newline on stderr.
  void fail(const std::string& message) {
    result_.err += message + "\n";
    result_.exit_code = 1;
  }

  // The subcommand's help, then the error (toxiproxy-cli's missing-argument pattern).
  void fail_with_help(const Context& c, const std::string& message) {
    show_command_help(c.app, c.cmd.name);
    fail(message);
  }

  ApiClient client() const {
    return ApiClient(endpoint_from_host(hostname_),
                     app_name_ + "/" + env_.version + " (linux/" + go_arch() + ")");
  }

  bool require_proxy_name(const Context& c, std::string& name, const char* message) {
    name = c.set.first_arg();
    if (name.empty()) {
      fail_with_help(c, message);
      return false;
    }
    return true;
  }

  bool required_flag(const Context& c, const std::string& flag, std::string& value) {
    value = lookup_string(c.lineage, flag);
    if (value.empty()) {
      fail_with_help(c, "Required argument '" + flag + "' was empty.\n");
      return false;
    }
    return true;
  }

  void list() {
    std::map<std::string, Proxy> proxies;
    std::string error;
    if (!client().proxies(proxies, error)) {
      fail("Failed to retrieve proxies: " + error);
      return;
    }
    auto& out = result_.out;
    if (env_.tty) {
      out += color(kGreen) + "Name\t\t\t" + color(kBlue) + "Listen\t\t" + color(kYellow) +
             "Upstream\t\t" + color(kPurple) + "Enabled\t\t" + color(kRed) + "Toxics\n" +
             color(kNone);
      out += color(kNone) + std::string(86, '=') + "\n";
      if (proxies.empty()) {
        out += color(kRed) + "no proxies\n" + color(kNone);
        hint("create a proxy with `" + app_name_ + " create`");
        return;
      }
    }
    for (const auto& [name, proxy] : proxies) {
      size_t n = proxy.toxics ? proxy.toxics->size() : 0;
      std::string count = std::to_string(n);
      if (n == 0 && env_.tty) count = "None";
      print_width(color_enabled(proxy.enabled), proxy.name, 3);
      print_width(kBlue, proxy.listen, 2);
      print_width(kYellow, proxy.upstream, 3);
      print_width(kPurple, enabled_text(proxy.enabled), 2);
      out += color(kRed) + count + color(kNone) + "\n";
    }
    hint("inspect toxics with `" + app_name_ + " inspect <proxyName>`");
  }

  void list_toxics(const std::vector<Toxic>& toxics, const std::string& stream) {
    auto& out = result_.out;
    if (env_.tty) {
      out += color(kGreen) + stream + " toxics:\n" + color(kNone);
      if (toxics.empty()) {
        out += color(kRed) + "Proxy has no " + stream + " toxics enabled.\n" + color(kNone);
        return;
      }
    }
    for (const auto& t : toxics) {
      if (env_.tty) {
        out += color(kBlue) + t.name + ":" + color(kNone) + "\t";
      } else {
        out += t.name + "\t";
      }
      out += "type=" + t.type + "\t";
      out += "stream=" + t.stream + "\t";
      char tox[64];
      std::snprintf(tox, sizeof tox, "%.2f", static_cast<double>(t.toxicity));
      out += std::string("toxicity=") + tox + "\t";
      out += "attributes=[";
      for (const auto& [key, value] : t.attributes) out += "\t" + key + "=" + print_go_value(value);
      out += "\t]\n";
    }
  }

  void inspect(const Context& c) {
    std::string name;
    if (!require_proxy_name(c, name, "Proxy name is required as the first argument.\n")) return;
    Proxy proxy;
    std::string error;
    if (!client().proxy(name, proxy, error)) {
      fail("Failed to retrieve proxy " + name + ": " + error + "\n");
      return;
    }
    std::vector<Toxic> toxics = proxy.toxics ? *proxy.toxics : std::vector<Toxic>{};
    if (!env_.tty) {
      list_toxics(toxics, "");
      return;
    }
    auto& out = result_.out;
    out += color(kPurple) + "Name: " + color(kNone) + proxy.name + "\t";
    out += color(kBlue) + "Listen: " + color(kNone) + proxy.listen + "\t";
    out += color(kYellow) + "Upstream: " + color(kNone) + proxy.upstream + "\n";
    out += color(kNone) + std::string(70, '=') + "\n";
    if (toxics.empty()) {
      out += color(kRed) + "Proxy has no toxics enabled.\n" + color(kNone);
    } else {
      std::vector<Toxic> up;
      std::vector<Toxic> down;
      for (const auto& t : toxics) (t.stream == "upstream" ? up : down).push_back(t);
      list_toxics(up, "Upstream");
      out += "\n";
      list_toxics(down, "Downstream");
    }
    hint("add a toxic with `" + app_name_ + " toxic add`");
  }

  void toggle(const Context& c) {
    std::string name;
    if (!require_proxy_name(c, name, "Proxy name is required as the first argument.\n")) return;
    Proxy proxy;
    std::string error;
    auto api = client();
    if (!api.proxy(name, proxy, error)) {
      fail("Failed to retrieve proxy " + name + ": " + error + "\n");
      return;
    }
    proxy.enabled = !proxy.enabled;
    if (!api.save_proxy(proxy, error)) {
      fail("Failed to toggle proxy " + name + ": " + error + "\n");
      return;
    }
    result_.out += "Proxy " + color_enabled(proxy.enabled) + name + color(kNone) + " is now " +
                   color_enabled(proxy.enabled) + enabled_text(proxy.enabled) + color(kNone) + "\n";
  }

  void create(const Context& c) {
    std::string name;
    if (!require_proxy_name(c, name, "Proxy name is required as the first argument.\n")) return;
    std::string listen;
    std::string upstream;
    if (!required_flag(c, "listen", listen) || !required_flag(c, "upstream", upstream)) return;
    std::string error;
    if (!client().create_proxy(name, listen, upstream, error)) {
      fail("Failed to create proxy: " + error + "\n");
      return;
    }
    result_.out += "Created new proxy " + name + "\n";
  }

  void remove_proxy(const Context& c) {
    std::string name;
    if (!require_proxy_name(c, name, "Proxy name is required as the first argument.\n")) return;
    Proxy proxy;
    std::string error;
    auto api = client();
    if (!api.proxy(name, proxy, error)) {
      fail("Failed to retrieve proxy " + name + ": " + error + "\n");
      return;
    }
    if (!api.delete_proxy(proxy, error)) {
      fail("Failed to delete proxy: " + error + "\n");
      return;
    }
    result_.out += "Deleted proxy " + name + "\n";
  }

  // toxiproxy-cli's --toxicity: a float32 in [0, 1] (NaN slips through, as in Go).
  bool parse_toxicity(const Context& c, float& toxicity) {
    toxicity = 1;
    std::string text = lookup_string(c.lineage, "toxicity");
    if (text.empty()) return true;
    double v = 0;
    if (parse_go_float(text, 32, v) != FloatParse::kOk || v > 1 || v < 0) {
      fail("toxicity should be a float between 0 and 1.\n");
      return false;
    }
    toxicity = static_cast<float>(v);
    return true;
  }

  bool common_toxic_options(const Context& c, ApiClient::ToxicOptions& o) {
    if (!require_proxy_name(c, o.proxy_name, "Proxy name is missing.\n")) return false;
    o.toxic_name = lookup_string(c.lineage, "toxicName");
    return true;
  }

  void toxic_add(const Context& c) {
    ApiClient::ToxicOptions o;
    if (!common_toxic_options(c, o) || !required_flag(c, "type", o.type)) return;
    bool upstream = lookup_bool(c.lineage, "upstream");
    bool downstream = lookup_bool(c.lineage, "downstream");
    if (upstream && downstream) {
      fail("Only one should be specified: upstream or downstream.\n");
      return;
    }
    o.stream = upstream ? "upstream" : "downstream";
    if (!parse_toxicity(c, o.toxicity)) return;
    o.attributes = parse_attributes(c.set.slice("attribute"));
    Toxic toxic;
    std::string error;
    if (!client().add_toxic(o, toxic, error)) {
      fail("Failed to add toxic: " + error + "\n");
      return;
    }
    result_.out += "Added " + toxic.stream + " " + toxic.type + " toxic '" + toxic.name +
                   "' on proxy '" + o.proxy_name + "'\n";
  }

  void toxic_update(const Context& c) {
    ApiClient::ToxicOptions o;
    if (!common_toxic_options(c, o) || !parse_toxicity(c, o.toxicity)) return;
    o.attributes = parse_attributes(c.set.slice("attribute"));
    Toxic toxic;
    std::string error;
    if (!client().update_toxic(o, toxic, error)) {
      fail("Failed to update toxic: " + error + "\n");
      return;
    }
    result_.out += "Updated toxic '" + toxic.name + "' on proxy '" + o.proxy_name + "'\n";
  }

  void toxic_remove(const Context& c) {
    ApiClient::ToxicOptions o;
    if (!common_toxic_options(c, o)) return;
    std::string error;
    if (!client().remove_toxic(o, error)) {
      fail("Failed to remove toxic: " + error + "\n");
      return;
    }
    result_.out += "Removed toxic '" + o.toxic_name + "' on proxy '" + o.proxy_name + "'\n";
  }

  const Environment& env_;
  std::string app_name_;
  std::string help_name_;
  std::string hostname_;
  std::vector<const CommandSpec*> ran_;
  std::map<const CommandSpec*, SliceValues> slices_;
  bool help_ran_ = false;
  Outcome result_;
};

}  // namespace

Outcome run_cli(const Environment& env) {
  return Runner(env).run();
}

}  // namespace faultline::cli
