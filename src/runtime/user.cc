#include "runtime/user.h"

#include <charconv>
#include <limits>
#include <optional>

namespace berth::runtime {
namespace {

std::vector<std::string_view> SplitFields(std::string_view line, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = line.find(sep, start);
    if (end == std::string_view::npos) {
      out.push_back(line.substr(start));
      return out;
    }
    out.push_back(line.substr(start, end - start));
    start = end + 1;
  }
}

// Calls fn(line) for each non-empty, non-comment line.
template <typename Fn>
void ForEachLine(std::string_view text, Fn fn) {
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty() || line[0] == '#') continue;
    fn(line);
  }
}

// A 32-bit id, rejecting the (uint32)-1 sentinel and anything that is not all digits.
std::optional<uint32_t> ParseId(std::string_view s) {
  if (s.empty()) return std::nullopt;
  uint32_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || p != s.data() + s.size()) return std::nullopt;
  if (v == std::numeric_limits<uint32_t>::max()) return std::nullopt;
  return v;
}

const PasswdEntry* FindUser(const std::vector<PasswdEntry>& users, std::string_view name,
                            std::optional<uid_t> uid) {
  for (const auto& u : users) {
    if (uid ? u.uid == *uid : u.name == name) return &u;
  }
  return nullptr;
}

const GroupEntry* FindGroup(const std::vector<GroupEntry>& groups, std::string_view name) {
  for (const auto& g : groups) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

}  // namespace

std::vector<PasswdEntry> ParsePasswd(std::string_view text) {
  std::vector<PasswdEntry> out;
  ForEachLine(text, [&](std::string_view line) {
    auto f = SplitFields(line, ':');
    if (f.size() < 7 || f[0].empty()) return;
    auto uid = ParseId(f[2]);
    auto gid = ParseId(f[3]);
    if (!uid || !gid) return;
    out.push_back({std::string(f[0]), *uid, *gid, std::string(f[5])});
  });
  return out;
}

std::vector<GroupEntry> ParseGroup(std::string_view text) {
  std::vector<GroupEntry> out;
  ForEachLine(text, [&](std::string_view line) {
    auto f = SplitFields(line, ':');
    if (f.size() < 4 || f[0].empty()) return;
    auto gid = ParseId(f[2]);
    if (!gid) return;
    GroupEntry g{std::string(f[0]), *gid, {}};
    if (!f[3].empty()) {
      for (auto m : SplitFields(f[3], ',')) {
        if (!m.empty()) g.members.emplace_back(m);
      }
    }
    out.push_back(std::move(g));
  });
  return out;
}

StatusOr<ResolvedUser> ResolveUser(std::string_view user, std::string_view passwd_text,
                                   std::string_view group_text) {
  std::vector<PasswdEntry> users = ParsePasswd(passwd_text);
  size_t colon = user.find(':');
  std::string_view user_part = user.substr(0, colon);
  std::string_view group_part = colon == std::string_view::npos ? "" : user.substr(colon + 1);
  if (colon != std::string_view::npos && (user_part.empty() || group_part.empty()))
    return InvalidArgument("user \"" + std::string(user) + "\": expected USER or USER:GROUP");

  ResolvedUser r;
  const PasswdEntry* entry = nullptr;
  if (user_part.empty()) user_part = "0";
  std::optional<uid_t> uid = ParseId(user_part);
  entry = FindUser(users, user_part, uid);
  if (!uid && !entry)
    return InvalidArgument("user \"" + std::string(user_part) + "\" not found in the image's /etc/passwd");
  r.uid = entry ? entry->uid : *uid;
  r.gid = entry ? entry->gid : 0;
  r.home = entry && !entry->home.empty() ? entry->home : (r.uid == 0 ? "/root" : "/");

  std::vector<GroupEntry> groups = ParseGroup(group_text);
  if (!group_part.empty()) {
    if (auto gid = ParseId(group_part)) {
      r.gid = *gid;
    } else if (const GroupEntry* g = FindGroup(groups, group_part)) {
      r.gid = g->gid;
    } else {
      return InvalidArgument("group \"" + std::string(group_part) + "\" not found in the image's /etc/group");
    }
    return r;
  }
  // Supplementary groups only for a user known by name in passwd (as runc does).
  if (!entry) return r;
  for (const auto& g : groups) {
    if (g.gid == r.gid) continue;
    for (const auto& m : g.members) {
      if (m == entry->name) {
        r.additional_gids.push_back(g.gid);
        break;
      }
    }
  }
  return r;
}

}  // namespace berth::runtime
