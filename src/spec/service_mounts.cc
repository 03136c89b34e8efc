#include <algorithm>
#include <charconv>
#include <set>

#include "base/fs.h"
#include "base/names.h"
#include "spec/fields.h"
#include "spec/fnv.h"
#include "spec/service_parser.h"

namespace berth::spec {
namespace {

std::vector<std::string> Split(std::string_view s, char sep) {
  std::vector<std::string> parts;
  size_t start = 0;
  for (;;) {
    size_t i = s.find(sep, start);
    parts.emplace_back(s.substr(start, i == std::string_view::npos ? std::string_view::npos : i - start));
    if (i == std::string_view::npos) return parts;
    start = i + 1;
  }
}

class MountParser {
 public:
  MountParser(const std::string& service, LoadState& st, std::vector<Mount>* mounts)
      : service_(service), st_(st), mounts_(mounts) {}

  void Short(const YamlNode& item, const std::string& path) {
    const std::string& spec = item.scalar;
    std::vector<std::string> parts = Split(spec, ':');
    Mount m;
    if (parts.size() > 3) {
      st_.diags.Error(item.pos, path,
                      "invalid volume " + Quoted(spec) + " (expected SOURCE:TARGET[:ro|rw] or TARGET)");
      return;
    }
    if (parts.size() == 3 && !Mode(parts[2], item.pos, path, &m)) return;
    if (parts.size() == 1) {
      Add(std::move(m), "", parts[0], item.pos, path, /*anonymous_ok=*/true);
    } else if (parts[0].empty()) {
      st_.diags.Error(item.pos, path, "volume " + Quoted(spec) + " has an empty source");
    } else {
      Add(std::move(m), parts[0], parts[1], item.pos, path, /*anonymous_ok=*/false);
    }
  }

  void Long(const YamlNode& item, const std::string& path) {
    static constexpr KeyRule kKeys[] = {{"type"},
                                        {"source"},
                                        {"target"},
                                        {"read_only"},
                                        {"tmpfs"},
                                        {"volume"},
                                        {"bind", "options are not supported by berth and are ignored"},
                                        {"consistency", kNotSupported}};
    CheckKeys(item, path, kKeys, Extensions::kIgnore, st_.diags);
    Mount m;
    const YamlNode* type = item.Find("type");
    std::optional<std::string> t =
        type ? ReadString(*type, ChildPath(path, "type"), st_.diags) : std::nullopt;
    if (!t) {
      if (!type || type->is_null()) st_.diags.Error(item.pos, path, "needs type: volume, bind or tmpfs");
      return;
    }
    if (*t == "volume") {
      m.type = MountType::kVolume;
    } else if (*t == "bind") {
      m.type = MountType::kBind;
    } else if (*t == "tmpfs") {
      m.type = MountType::kTmpfs;
    } else {
      st_.diags.Error(type->pos, ChildPath(path, "type"),
                      "unsupported volume type " + Quoted(*t) + " (use volume, bind or tmpfs)");
      return;
    }
    if (const YamlNode* ro = item.Find("read_only"))
      m.read_only = ReadBool(*ro, ChildPath(path, "read_only"), st_.diags).value_or(false);
    Options(item, path, &m);
    const YamlNode* src = item.Find("source");
    std::string source;
    if (src && !src->is_null()) {
      std::optional<std::string> s = ReadString(*src, ChildPath(path, "source"), st_.diags);
      if (!s) return;
      source = *s;
    }
    const YamlNode* tgt = item.Find("target");
    std::optional<std::string> target =
        tgt ? ReadString(*tgt, ChildPath(path, "target"), st_.diags) : std::nullopt;
    if (!target) {
      if (!tgt || tgt->is_null()) st_.diags.Error(item.pos, path, "needs a target path");
      return;
    }
    Pos pos = tgt->pos;
    if (m.type == MountType::kTmpfs) {
      if (!source.empty())
        st_.diags.Error(src->pos, ChildPath(path, "source"), "a tmpfs mount has no source");
      AddTarget(std::move(m), *target, pos, ChildPath(path, "target"));
    } else if (m.type == MountType::kBind) {
      if (source.empty()) {
        st_.diags.Error(item.pos, path, "a bind mount needs a source path");
        return;
      }
      if (!Bind(source, src->pos, ChildPath(path, "source"), &m)) return;
      AddTarget(std::move(m), *target, pos, ChildPath(path, "target"));
    } else if (source.empty()) {
      Anonymous(std::move(m), *target, pos, ChildPath(path, "target"));
    } else if (Named(source, src->pos, ChildPath(path, "source"), &m)) {
      AddTarget(std::move(m), *target, pos, ChildPath(path, "target"));
    }
  }

 private:
  // "ro", "rw", optionally with SELinux/consistency flags Berth ignores.
  bool Mode(const std::string& mode, Pos pos, const std::string& path, Mount* m) {
    for (const std::string& opt : Split(mode, ',')) {
      if (opt == "ro") {
        m->read_only = true;
      } else if (opt == "rw") {
        m->read_only = false;
      } else if (opt == "z" || opt == "Z" || opt == "cached" || opt == "delegated" || opt == "consistent" ||
                 opt == "nocopy") {
        st_.diags.Warning(pos, path, "volume option " + Quoted(opt) + " " + std::string(kNotSupported));
      } else {
        st_.diags.Error(pos, path, "invalid volume mode " + Quoted(opt) + " (use ro or rw)");
        return false;
      }
    }
    return true;
  }

  void Options(const YamlNode& item, const std::string& path, Mount* m) {
    if (const YamlNode* v = item.Find("volume"); v && ExpectMap(*v, ChildPath(path, "volume"), st_.diags)) {
      static constexpr KeyRule kKeys[] = {{"nocopy", kNotSupported}, {"subpath", kNotSupported}};
      CheckKeys(*v, ChildPath(path, "volume"), kKeys, Extensions::kIgnore, st_.diags);
    }
    const YamlNode* t = item.Find("tmpfs");
    std::string tpath = ChildPath(path, "tmpfs");
    if (!t || !ExpectMap(*t, tpath, st_.diags)) return;
    static constexpr KeyRule kKeys[] = {{"size"}, {"mode", kNotSupported}};
    CheckKeys(*t, tpath, kKeys, Extensions::kIgnore, st_.diags);
    if (m->type != MountType::kTmpfs) {
      st_.diags.Warning(t->pos, tpath, "tmpfs options apply only to type: tmpfs and are ignored");
      return;
    }
    if (const YamlNode* size = t->Find("size"))
      m->tmpfs_size = ReadBytes(*size, ChildPath(tpath, "size"), st_.diags).value_or(0);
  }

  void Add(Mount m, const std::string& source, const std::string& target, Pos pos, const std::string& path,
           bool anonymous_ok) {
    if (source.empty() && anonymous_ok) return Anonymous(std::move(m), target, pos, path);
    if (source[0] == '/' || source[0] == '.' || source[0] == '~') {
      m.type = MountType::kBind;
      if (!Bind(source, pos, path, &m)) return;
    } else {
      m.type = MountType::kVolume;
      if (!Named(source, pos, path, &m)) return;
    }
    AddTarget(std::move(m), target, pos, path);
  }

  bool Bind(const std::string& source, Pos pos, const std::string& path, Mount* m) {
    if (source[0] == '~') {
      st_.diags.Error(pos, path,
                      "\"~\" is not supported in volume sources " + Quoted(source) +
                          "; use a path relative to the spec (./dir) or an absolute one");
      return false;
    }
    m->source = AbsolutePath(st_.options.base_dir, source);
    return true;
  }

  bool Named(const std::string& name, Pos pos, const std::string& path, Mount* m) {
    if (Status s = ValidateVolumeName(name); !s.ok()) {
      st_.diags.Error(pos, path, s.message());
      return false;
    }
    if (!st_.project.volumes.count(name)) {
      st_.diags.Error(pos, path,
                      "volume " + Quoted(name) + " is not declared; add it under the top-level volumes:");
      return false;
    }
    m->type = MountType::kVolume;
    m->source = name;
    return true;
  }

  // Compose gives an anonymous volume a fresh random name per container; Berth names
  // it after service and target so it survives restarts and updates like any volume.
  void Anonymous(Mount m, const std::string& target, Pos pos, const std::string& path) {
    std::string name = "anon-" + service_.substr(0, 50) + "-" + Hex(Fnv1a64(target), 8);
    if (!st_.project.volumes.count(name)) st_.project.volumes[name] = Volume{name, {}};
    st_.diags.Warning(
        pos, path, "anonymous volume at " + Quoted(target) + " is kept as the named volume " + Quoted(name));
    m.type = MountType::kVolume;
    m.source = name;
    AddTarget(std::move(m), target, pos, path);
  }

  void AddTarget(Mount m, const std::string& target, Pos pos, const std::string& path) {
    if (target.empty() || target[0] != '/') {
      st_.diags.Error(pos, path, "mount target must be an absolute path, got " + Quoted(target));
      return;
    }
    m.target = AbsolutePath("/", target);
    if (!targets_.insert(m.target).second) {
      st_.diags.Error(pos, path, "two mounts at " + Quoted(m.target));
      return;
    }
    mounts_->push_back(std::move(m));
  }

  const std::string& service_;
  LoadState& st_;
  std::vector<Mount>* mounts_;
  std::set<std::string> targets_;
};

// A port number; ranges ("8000-8010") are reported as such.
std::optional<int> PortNumber(std::string_view s, bool allow_zero, Pos pos, const std::string& path,
                              Diagnostics& d) {
  if (s.find('-') != std::string_view::npos && s.size() > 1) {
    d.Error(pos, path, "port ranges are not supported: " + Quoted(s));
    return std::nullopt;
  }
  int v = -1;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v < (allow_zero ? 0 : 1) || v > 65535) {
    d.Error(pos, path, "invalid port " + Quoted(s) + " (expected 1-65535)");
    return std::nullopt;
  }
  return v;
}

bool Protocol(const std::string& proto, Pos pos, const std::string& path, Diagnostics& d) {
  if (proto == "tcp" || proto == "udp") return true;
  d.Error(pos, path, "invalid protocol " + Quoted(proto) + " (use tcp or udp)");
  return false;
}

// "8000", "8080:8000", "127.0.0.1:8080:8000", "[::1]:8080:8000", each with "/tcp|udp".
void ShortPort(const YamlNode& item, const std::string& path, LoadState& st, std::vector<Port>* ports) {
  std::string_view s = item.scalar;
  Port p;
  if (size_t slash = s.rfind('/'); slash != std::string_view::npos) {
    p.protocol = std::string(s.substr(slash + 1));
    if (!Protocol(p.protocol, item.pos, path, st.diags)) return;
    s = s.substr(0, slash);
  }
  if (s.starts_with('[')) {
    size_t close = s.find(']');
    if (close == std::string_view::npos || close + 1 >= s.size() || s[close + 1] != ':') {
      st.diags.Error(item.pos, path, "invalid port " + Quoted(item.scalar));
      return;
    }
    p.host_ip = std::string(s.substr(1, close - 1));
    s = s.substr(close + 2);
  }
  std::vector<std::string> parts = Split(s, ':');
  if (parts.size() == 3 && p.host_ip.empty()) {
    p.host_ip = parts[0];
    parts.erase(parts.begin());
  }
  if (parts.size() > 2) {
    st.diags.Error(
        item.pos, path,
        "invalid port " + Quoted(item.scalar) + " (expected [HOST_IP:][HOST_PORT:]PORT[/PROTOCOL])");
    return;
  }
  auto container = PortNumber(parts.back(), false, item.pos, path, st.diags);
  if (!container) return;
  p.container_port = *container;
  if (parts.size() == 2 && !parts[0].empty()) {
    auto host = PortNumber(parts[0], false, item.pos, path, st.diags);
    if (!host) return;
    p.host_port = *host;
  }
  ports->push_back(std::move(p));
}

void LongPort(const YamlNode& item, const std::string& path, LoadState& st, std::vector<Port>* ports) {
  static constexpr KeyRule kKeys[] = {{"target"},
                                      {"published"},
                                      {"host_ip"},
                                      {"protocol"},
                                      {"mode", kNotSupported},
                                      {"name", kNotSupported},
                                      {"app_protocol", kNotSupported}};
  CheckKeys(item, path, kKeys, Extensions::kIgnore, st.diags);
  Port p;
  const YamlNode* target = item.Find("target");
  std::optional<std::string> t =
      target ? ReadString(*target, ChildPath(path, "target"), st.diags) : std::nullopt;
  if (!t) {
    if (!target || target->is_null()) st.diags.Error(item.pos, path, "needs a target port");
    return;
  }
  auto container = PortNumber(*t, false, target->pos, ChildPath(path, "target"), st.diags);
  if (!container) return;
  p.container_port = *container;
  if (const YamlNode* pub = item.Find("published")) {
    std::string ppath = ChildPath(path, "published");
    if (auto text = ReadString(*pub, ppath, st.diags); text && !text->empty()) {
      auto host = PortNumber(*text, true, pub->pos, ppath, st.diags);
      if (!host) return;
      p.host_port = *host;
    }
  }
  if (const YamlNode* ip = item.Find("host_ip"))
    p.host_ip = ReadString(*ip, ChildPath(path, "host_ip"), st.diags).value_or("");
  if (const YamlNode* proto = item.Find("protocol")) {
    std::string ppath = ChildPath(path, "protocol");
    if (auto v = ReadString(*proto, ppath, st.diags)) {
      if (!Protocol(*v, proto->pos, ppath, st.diags)) return;
      p.protocol = *v;
    }
  }
  ports->push_back(std::move(p));
}

}  // namespace

void ParseServiceVolumes(const YamlNode& n, const std::string& path, const std::string& service,
                         LoadState& state, std::vector<Mount>* mounts) {
  if (!ExpectSequence(n, path, state.diags)) return;
  MountParser parser(service, state, mounts);
  for (size_t i = 0; i < n.items.size(); ++i) {
    const YamlNode& item = n.items[i];
    std::string ipath = IndexPath(path, i);
    if (item.invalid) continue;
    if (item.is_scalar()) {
      parser.Short(item, ipath);
    } else if (item.is_map()) {
      parser.Long(item, ipath);
    } else {
      WrongShape(item, ipath, "\"SOURCE:TARGET[:ro]\" or {type, source, target}", state.diags);
    }
  }
}

void ParsePorts(const YamlNode& n, const std::string& path, LoadState& state, std::vector<Port>* ports) {
  if (!ExpectSequence(n, path, state.diags)) return;
  for (size_t i = 0; i < n.items.size(); ++i) {
    const YamlNode& item = n.items[i];
    std::string ipath = IndexPath(path, i);
    if (item.invalid) continue;
    if (item.is_scalar()) {
      ShortPort(item, ipath, state, ports);
    } else if (item.is_map()) {
      LongPort(item, ipath, state, ports);
    } else {
      WrongShape(item, ipath, "\"[HOST:]PORT\" or {target, published}", state.diags);
    }
  }
}

}  // namespace berth::spec
