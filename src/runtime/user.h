// User resolution against an image's own /etc/passwd and /etc/group text.
//
// A container's `user:` ("name", "uid", "uid:gid", "name:group", "uid:group", "name:gid")
// means what the image's files say, not what the host's NSS says: a rootfs image has
// its own accounts. So the files are parsed directly (never getpwnam), with the rules
// of runc's libcontainer/user GetExecUser:
//   - "" is root (0:0);
//   - a name must exist in passwd; a bare number need not (then gid 0, home "/");
//   - without an explicit group, the primary gid comes from passwd and supplementary
//     gids from the groups that list the user name as a member;
//   - with an explicit group, that group is the only one (no supplementary gids).
//
// Pure functions of their inputs; thread-safe.
#pragma once

#include <sys/types.h>

#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace berth::runtime {

struct PasswdEntry {
  std::string name;
  uid_t uid = 0;
  gid_t gid = 0;
  std::string home;
};

struct GroupEntry {
  std::string name;
  gid_t gid = 0;
  std::vector<std::string> members;
};

// Malformed lines (wrong field count, non-numeric ids) and comments are skipped.
std::vector<PasswdEntry> ParsePasswd(std::string_view text);
std::vector<GroupEntry> ParseGroup(std::string_view text);

struct ResolvedUser {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  std::string home = "/";  // from passwd when known; "/root" for uid 0 without an entry
  bool operator==(const ResolvedUser&) const = default;
};

// InvalidArgument names the user or group that is missing ("user \"x\" not found in the
// image's /etc/passwd") or the malformed spec.
StatusOr<ResolvedUser> ResolveUser(std::string_view user, std::string_view passwd_text,
                                   std::string_view group_text);

}  // namespace berth::runtime
