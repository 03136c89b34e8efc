#include "supervisor/container_spec.h"

#include "base/fs.h"
#include "spec/loader.h"
#include "supervisor/reconciler.h"

namespace berth::supervisor {

std::string Layout::EnvVolumesDir(const std::string& env) const { return state_dir + "/volumes/" + env; }
std::string Layout::VolumeDir(const std::string& env, const std::string& v) const {
  return EnvVolumesDir(env) + "/" + v;
}
std::string Layout::SecretsDir(const std::string& env) const { return state_dir + "/secrets/" + env; }
std::string Layout::SecretFile(const std::string& env, const std::string& name) const {
  return SecretsDir(env) + "/" + name;
}
std::string Layout::SecretsDirFor(const std::string& env, uint32_t uid) const {
  return SecretsDir(env) + "/uid-" + std::to_string(uid);
}
std::string Layout::LogsDir(const std::string& env) const { return state_dir + "/logs/" + env; }
std::string Layout::LogFile(const std::string& id) const {
  return LogsDir(id.substr(0, id.find('.'))) + "/" + id + ".log";
}
std::string Layout::FifoDir() const { return run_dir + "/fifo"; }
std::string Layout::FifoPath(const std::string& id, char stream) const {
  return FifoDir() + "/" + id + (stream == 'e' ? ".err" : ".out");
}

Status CheckRunnable(const spec::Service& s) {
  if (s.image == "host" || s.image.rfind("rootfs:/", 0) == 0) return OkStatus();
  return InvalidArgument("service " + s.name + ": image \"" + s.image +
                         "\" cannot be started: OCI image references are not supported yet "
                         "(use image: host or image: rootfs:/path)");
}

StatusOr<runtime::ContainerSpec> BuildContainerSpec(const spec::Service& s, const ReplicaContext& ctx,
                                                    const Layout& layout) {
  BERTH_RETURN_IF_ERROR(CheckRunnable(s));
  runtime::ContainerSpec c;
  c.id = ReplicaId(ctx.env, ctx.service, ctx.index);
  c.image = s.image;
  auto expand = [&](const std::string& text, const std::string& where) -> StatusOr<std::string> {
    auto r = spec::ExpandSecrets(text, ctx.secret);
    if (!r.ok()) return r.status().WithContext(where);
    return r;
  };
  for (const auto* part : {&s.entrypoint, &s.command})
    for (const auto& a : *part) {
      BERTH_ASSIGN_OR_RETURN(std::string v, expand(a, "service " + s.name + " command"));
      c.args.push_back(std::move(v));
    }
  if (c.args.empty())
    return InvalidArgument("service " + s.name + " has no command (image " + s.image +
                           " has no default command: set command: [...])");

  bool has_path = false;
  for (const auto& [k, v] : s.environment) {
    BERTH_ASSIGN_OR_RETURN(std::string val, expand(v, "service " + s.name + " environment " + k));
    c.env.push_back(k + "=" + val);
    has_path |= k == "PATH";
  }
  if (!has_path) c.env.push_back("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  c.env.push_back("BERTH_ENV=" + ctx.env);
  c.env.push_back("BERTH_SERVICE=" + ctx.service);
  c.env.push_back("BERTH_REPLICA=" + std::to_string(ctx.index));

  c.working_dir = s.working_dir;
  c.user = s.user;
  c.hostname = ctx.service + "-" + std::to_string(ctx.index);
  for (const auto& m : s.mounts) {
    switch (m.type) {
      case spec::MountType::kVolume:
        c.binds.push_back({layout.VolumeDir(ctx.env, m.source), m.target, m.read_only});
        break;
      case spec::MountType::kBind:
        c.binds.push_back({m.source, m.target, m.read_only});
        break;
      case spec::MountType::kTmpfs:
        c.tmpfs.push_back(m);
        break;
    }
  }
  for (const auto& name : s.secrets)
    c.binds.push_back({ctx.secrets_uid == 0 ? layout.SecretFile(ctx.env, name)
                                            : layout.SecretsDirFor(ctx.env, ctx.secrets_uid) + "/" + name,
                       "/run/secrets/" + name, true});
  c.limits = s.limits;
  if (c.limits.pids <= 0) c.limits.pids = ctx.default_pids_limit;
  c.netns_path = ctx.netns_path;
  if (s.init) c.init_path = ctx.init_path;
  c.stdout_path = layout.FifoPath(c.id, 'o');
  c.stderr_path = layout.FifoPath(c.id, 'e');
  return c;
}

}  // namespace berth::supervisor
