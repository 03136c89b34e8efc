// OciRuntime with real runc containers: isolation, limits, lifecycle, adoption, cleanup,
// rootfs images, exec, errors (fixture and skip rules: runtime_fixture.h).
#include <sys/stat.h>
#include <sys/wait.h>

#include "runtime_fixture.h"

namespace berth::runtime::it {
namespace {

TEST_F(RuntimeIntegrationTest, PythonFromTheHostImageThroughAFifo) {
  std::string fifo = dir_ + "/out.fifo";
  ASSERT_EQ(mkfifo(fifo.c_str(), 0600), 0);
  int reader = open(fifo.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC);
  ASSERT_GE(reader, 0);
  ContainerSpec spec = Spec("t.py.1", {"python3", "-c",
                                       "import sys, os; print('hello from', sys.version_info[0], "
                                       "os.uname().nodename, os.getcwd(), os.environ['HOME'])"});
  spec.stdout_path = fifo;
  spec.working_dir = "/usr";
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime_->Create(spec).ok());
  double create_ms = MillisSince(t0);
  auto st = runtime_->State("t.py.1");
  ASSERT_TRUE(st.ok());
  EXPECT_EQ(st->status, ContainerStatus::kCreated);
  t0 = std::chrono::steady_clock::now();
  auto started = runtime_->Start("t.py.1");
  double start_ms = MillisSince(t0);
  ASSERT_TRUE(started.ok()) << started.status().ToString();
  EXPECT_GT(started->pid, 0);
  EXPECT_EQ(started->pid_start_time, ProcessStartTime(started->pid));
  auto exit = WaitExit(*started);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFEXITED(*exit) && WEXITSTATUS(*exit) == 0) << DescribeWaitStatus(*exit);
  char buf[256] = {};
  ssize_t n = read(reader, buf, sizeof buf - 1);
  close(reader);
  EXPECT_EQ(std::string(buf, n > 0 ? n : 0), "hello from 3 t-py-1 /usr /root\n");
  EXPECT_TRUE(Eventually([&] { return runtime_->State("t.py.1")->status == ContainerStatus::kStopped; }));
  t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime_->Delete("t.py.1").ok());
  std::printf("[ timing ] runc create %.0f ms, start %.0f ms, delete %.0f ms\n", create_ms, start_ms,
              MillisSince(t0));
}

TEST_F(RuntimeIntegrationTest, HardeningInsideTheContainer) {
  std::string script =
      "grep -E '^(NoNewPrivs|Seccomp|CapEff|CapBnd):' /proc/self/status;"
      "echo x > /proc/sys/kernel/hostname 2>/dev/null && echo hostname=writable || echo hostname=denied;"
      "unshare -U true 2>/dev/null && echo unshare=ok || echo unshare=denied;"
      "mkdir -p /tmp/m; mount -t tmpfs none /tmp/m 2>/dev/null && echo mount=ok || echo mount=denied;"
      "touch /rootfile 2>/dev/null && echo root=writable || echo root=readonly;"
      "touch /usr/berth-x 2>/dev/null && echo usr=writable || echo usr=readonly;"
      "test -e /etc/shadow && echo shadow=present || echo shadow=absent;"
      "cat /proc/kcore >/dev/null 2>&1; head -c1 /proc/kcore | wc -c | sed 's/^/kcore=/';"
      "echo nofile=$(ulimit -n); echo hostname=$(hostname)";
  int code = -1;
  std::string out = RunToEnd(Spec("t.hard.1", {"sh", "-c", script}), &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_TRUE(Contains(out, "NoNewPrivs:\t1\n")) << out;
  EXPECT_TRUE(Contains(out, "Seccomp:\t2\n")) << out;
  auto hex_field = [&](const std::string& key) {
    size_t at = out.find(key + ":\t");
    return at == std::string::npos ? ~0ULL : std::stoull(out.substr(at + key.size() + 2, 16), nullptr, 16);
  };
  constexpr unsigned long long kSysAdmin = 1ULL << 21;
  EXPECT_EQ(hex_field("CapEff") & kSysAdmin, 0u) << out;
  EXPECT_EQ(hex_field("CapBnd") & kSysAdmin, 0u) << out;
  EXPECT_NE(hex_field("CapEff"), 0u) << "root keeps Docker's default set\n" << out;
  for (const char* line : {"hostname=denied", "unshare=denied", "mount=denied", "root=readonly",
                           "usr=readonly", "shadow=absent", "kcore=0", "hostname=t-hard-1"})
    EXPECT_TRUE(Contains(out, std::string(line) + "\n")) << line << "\n" << out;
  // 65536, or berthd's own hard limit where it cannot raise it (no CAP_SYS_RESOURCE).
  auto* oci = dynamic_cast<OciRuntime*>(runtime_.get());
  auto config = nlohmann::json::parse(ReadOrEmpty(oci->BundleDir("t.hard.1") + "/config.json"));
  int64_t nofile = config["process"]["rlimits"][0]["hard"];
  EXPECT_TRUE(nofile == 65536 || nofile == 20000) << nofile;
  EXPECT_TRUE(Contains(out, "nofile=" + std::to_string(nofile) + "\n")) << out;
}

TEST_F(RuntimeIntegrationTest, NonRootUserWritesTmpAndHasNoCapabilities) {
  ContainerSpec spec =
      Spec("t.user.1", {"sh", "-c",
                        "id -u; id -g; touch /tmp/x && echo tmp=ok; touch /var/tmp/y && echo "
                        "vartmp=ok; grep CapEff /proc/self/status; echo home=$HOME"});
  spec.user = "nobody";
  int code = -1;
  std::string out = RunToEnd(spec, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "65534\n65534\ntmp=ok\nvartmp=ok\nCapEff:\t0000000000000000\nhome=/nonexistent\n");
}

TEST_F(RuntimeIntegrationTest, MemoryLimitOomKills) {
  ContainerSpec spec = Spec("t.oom.1", {"python3", "-c", "x = b'x' * (300 << 20); print('survived')"});
  spec.limits.memory_bytes = 64LL << 20;
  ContainerState st = Run(spec);
  auto exit = WaitExit(st);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFSIGNALED(*exit) && WTERMSIG(*exit) == SIGKILL) << DescribeWaitStatus(*exit);
  auto usage = runtime_->Stats("t.oom.1");
  ASSERT_TRUE(usage.ok()) << usage.status().ToString();
  EXPECT_GE(usage->oom_kills, 1);
  EXPECT_EQ(usage->memory_limit, 64LL << 20);
  EXPECT_FALSE(Contains(ReadOrEmpty(spec.stdout_path), "survived"));
  // No swap limit was set (this host has no swap accounting to rely on).
  auto* oci = dynamic_cast<OciRuntime*>(runtime_.get());
  std::string memsw = JoinPath(JoinPath(oci->cgroups().V1("memory"), oci->CgroupPath("t.oom.1")),
                               "memory.memsw.limit_in_bytes");
  if (!oci->cgroups().V1("memory").empty() && PathExists(memsw)) {
    EXPECT_EQ(ParseLimit(ReadOrEmpty(memsw)), 0);
  }
}

TEST_F(RuntimeIntegrationTest, PidsLimitHoldsAndTheNeighbourKeepsAnswering) {
  ContainerSpec neighbour = Spec("t.calm.1", {"sleep", "60"});
  ASSERT_GT(Run(neighbour).pid, 0);
  // A bounded fork bomb: up to 200 sleeps, counting the forks that failed.
  ContainerSpec bomb = Spec("t.bomb.1", {"python3", "-c",
                                         "import subprocess, time\n"
                                         "ok = 0\n"
                                         "for i in range(200):\n"
                                         "    try: subprocess.Popen(['sleep', '60']); ok += 1\n"
                                         "    except OSError: pass\n"
                                         "print('started', ok, flush=True)\n"
                                         "time.sleep(60)\n"});
  bomb.limits.pids = 20;
  ASSERT_GT(Run(bomb).pid, 0);
  ASSERT_TRUE(Eventually([&] { return Contains(ReadOrEmpty(bomb.stdout_path), "started"); }, 30s));
  auto usage = runtime_->Stats("t.bomb.1");
  ASSERT_TRUE(usage.ok());
  EXPECT_LE(usage->pids, 20);
  EXPECT_GE(usage->pids, 15);
  int started = std::stoi(ReadOrEmpty(bomb.stdout_path).substr(8));
  EXPECT_LT(started, 20);
  auto probe = runtime_->Exec("t.calm.1", {"sh", "-c", "echo alive"}, 5s);
  ASSERT_TRUE(probe.ok()) << probe.status().ToString();
  EXPECT_EQ(probe->exit_code, 0);
  EXPECT_EQ(probe->output, "alive\n");
  auto t0 = std::chrono::steady_clock::now();
  ASSERT_TRUE(runtime_->Delete("t.bomb.1").ok());
  std::printf("[ timing ] delete of a container with %lld processes: %.0f ms\n",
              static_cast<long long>(usage->pids), MillisSince(t0));
}

TEST_F(RuntimeIntegrationTest, CpuQuotaApplies) {
  ContainerSpec spec = Spec("t.cpu.1", {"python3", "-c", "while True: pass"});
  spec.limits.cpus = 0.2;
  ASSERT_GT(Run(spec).pid, 0);
  std::this_thread::sleep_for(300ms);
  auto before = runtime_->Stats("t.cpu.1");
  auto t0 = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(1s);
  auto after = runtime_->Stats("t.cpu.1");
  double wall = MillisSince(t0) / 1000.0;
  ASSERT_TRUE(before.ok() && after.ok());
  double used = static_cast<double>(after->cpu_ns - before->cpu_ns) / 1e9;
  std::printf("[ cpu ] %.3f s of CPU in %.3f s wall under cpus=0.2\n", used, wall);
  EXPECT_GT(used / wall, 0.12);
  EXPECT_LT(used / wall, 0.28);
}

TEST_F(RuntimeIntegrationTest, BindMountedVolumes) {
  std::string vol = dir_ + "/vol";
  std::string ro = dir_ + "/ro";
  ASSERT_TRUE(MakeDirs(vol).ok());
  ASSERT_TRUE(MakeDirs(ro).ok());
  ASSERT_TRUE(WriteFileAtomic(ro + "/config", "from host\n").ok());
  ASSERT_TRUE(WriteFileAtomic(dir_ + "/hosts", "10.0.0.7 db\n").ok());
  ContainerSpec spec =
      Spec("t.vol.1", {"sh", "-c",
                       "echo written inside > /data/file; cat /cfg/config; "
                       "(echo x > /cfg/config) 2>/dev/null || echo ro=denied; cat /etc/hosts"});
  spec.binds = {{vol, "/data", false}, {ro, "/cfg", true}, {dir_ + "/hosts", "/etc/hosts", true}};
  int code = -1;
  std::string out = RunToEnd(spec, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out, "from host\nro=denied\n10.0.0.7 db\n");
  EXPECT_EQ(ReadOrEmpty(vol + "/file"), "written inside\n");
  EXPECT_EQ(ReadOrEmpty(ro + "/config"), "from host\n");
}

TEST_F(RuntimeIntegrationTest, AdoptionByANewInstance) {
  ContainerState st = Run(Spec("t.adopt.1", {"sleep", "60"}));
  ASSERT_GT(st.pid, 0);
  ASSERT_TRUE(runtime_->Create(Spec("t.adopt.2", {"sleep", "60"})).ok());
  auto rt = NewRuntime(options_);
  ASSERT_TRUE(rt.ok());
  other_ = std::move(*rt);
  auto again = other_->State("t.adopt.1");
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->status, ContainerStatus::kRunning);
  EXPECT_EQ(again->pid, st.pid);
  EXPECT_EQ(again->pid_start_time, st.pid_start_time);
  auto list = other_->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  for (const auto& c : *list) {
    if (c.id == "t.adopt.1") {
      EXPECT_EQ(c.pid, st.pid);
    } else {
      EXPECT_EQ(c.status, ContainerStatus::kCreated);
    }
  }
  // SIGKILL: a pid namespace's init ignores signals it has no handler for (SIGTERM).
  ASSERT_TRUE(other_->Kill("t.adopt.1", SIGKILL).ok());
  auto exit = WaitExit(st);
  ASSERT_TRUE(exit.has_value());
  EXPECT_TRUE(WIFSIGNALED(*exit) && WTERMSIG(*exit) == SIGKILL) << DescribeWaitStatus(*exit);
  EXPECT_EQ(other_->State("t.adopt.1")->status, ContainerStatus::kStopped);
  EXPECT_EQ(other_->Kill("t.adopt.1", SIGTERM).code(), StatusCode::kFailedPrecondition);
}

TEST_F(RuntimeIntegrationTest, DeleteLeavesNothingBehind) {
  auto* oci = dynamic_cast<OciRuntime*>(runtime_.get());
  ContainerState st = Run(Spec("t.del.1", {"sh", "-c", "sleep 60 & sleep 60"}));
  ASSERT_GT(st.pid, 0);
  ASSERT_TRUE(runtime_->Create(Spec("t.del.2", {"sleep", "60"})).ok());  // created, never started
  EXPECT_FALSE(ExistingCgroupDirs(oci->cgroups(), oci->CgroupPath("t.del.1")).empty());
  for (const char* id : {"t.del.1", "t.del.2"}) {
    ASSERT_TRUE(runtime_->Delete(id).ok()) << id;
    EXPECT_EQ(runtime_->State(id).status().code(), StatusCode::kNotFound) << id;
    EXPECT_FALSE(PathExists(oci->BundleDir(id))) << id;
    EXPECT_FALSE(PathExists(options_.run_dir + "/runc/" + id)) << id;
    EXPECT_EQ(ExistingCgroupDirs(oci->cgroups(), oci->CgroupPath(id)), std::vector<std::string>{}) << id;
  }
  EXPECT_TRUE(Eventually([&] { return !ProcessAlive(st.pid, st.pid_start_time); }));
  EXPECT_TRUE(runtime_->List()->empty());
  EXPECT_TRUE(runtime_->Delete("t.del.1").ok());  // absent is ok
}

TEST_F(RuntimeIntegrationTest, RootfsImageWithBusybox) {
  std::string root = dir_ + "/busybox-root";
  for (const char* d : {"bin", "etc", "proc", "sys", "dev", "run"})
    ASSERT_TRUE(MakeDirs(root + "/" + d).ok());
  ASSERT_TRUE(MakeDirs(root + "/tmp", 01777).ok());
  ASSERT_EQ(chmod((root + "/tmp").c_str(), 01777), 0);
  auto cp = berth::Run({"cp", "/bin/busybox", root + "/bin/busybox"});
  ASSERT_TRUE(cp.ok() && cp->ok());
  for (const char* applet : {"sh", "echo", "id", "ls", "touch", "cat", "sleep"})
    ASSERT_EQ(symlink("/bin/busybox", (root + "/bin/" + applet).c_str()), 0);
  ASSERT_TRUE(
      WriteFileAtomic(root + "/etc/passwd", "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/:/bin/sh\n")
          .ok());
  ASSERT_TRUE(WriteFileAtomic(root + "/etc/group", "root:x:0:\napp:x:1000:\n").ok());
  ContainerSpec spec =
      Spec("t.rootfs.1", {"sh", "-c",
                          "echo hi from busybox; id -u; ls /usr 2>&1 >/dev/null || echo no-usr;"
                          "touch /tmp/x && echo tmp=ok; touch /x 2>/dev/null || echo root=ro"});
  spec.image = "rootfs:" + root;
  spec.user = "app";
  int code = -1;
  std::string out = RunToEnd(spec, &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_EQ(out.substr(0, out.find("ls:")), "hi from busybox\n1000\n");
  EXPECT_TRUE(Contains(out, "no-usr\ntmp=ok\nroot=ro\n")) << out;
  // The host has python3, the image does not: a clear Create error.
  ContainerSpec py = Spec("t.rootfs.3", {"python3", "-V"});
  py.image = spec.image;
  Status s = runtime_->Create(py);
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "create t.rootfs.3: program \"python3\" not found in the image");
  py.args = {"sh"};
  py.user = "postgres";
  s = runtime_->Create(py);
  EXPECT_EQ(s.message(), "create t.rootfs.3: user \"postgres\" not found in the image's /etc/passwd");
}

TEST_F(RuntimeIntegrationTest, ExecWorksAndTimesOut) {
  ContainerState st = Run(Spec("t.exec.1", {"sleep", "60"}));
  ASSERT_GT(st.pid, 0);
  auto r = runtime_->Exec("t.exec.1", {"sh", "-c", "echo out; echo err >&2; hostname; exit 3"}, 10s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 3);
  EXPECT_FALSE(r->timed_out);
  EXPECT_EQ(r->output, "out\nt-exec-1\nerr\n");
  r = runtime_->Exec("t.exec.1", {"python3", "-c", "print('x' * 10000)"}, 10s);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->output.size(), 4096u);
  EXPECT_TRUE(r->truncated);
  r = runtime_->Exec("t.exec.1", {"python3", "-c", "print('x' * 100000)"}, 10s, 1 << 20);
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->output.size(), 100001u);
  EXPECT_FALSE(r->truncated);
  auto t0 = std::chrono::steady_clock::now();
  r = runtime_->Exec("t.exec.1", {"sh", "-c", "sleep 30; echo late"}, 500ms);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->timed_out);
  EXPECT_EQ(r->exit_code, -1);
  EXPECT_LT(MillisSince(t0), 3000);
  // The timed-out command is gone from the container: only the first process is left.
  auto* oci = dynamic_cast<OciRuntime*>(runtime_.get());
  std::string procs = JoinPath(
      JoinPath(oci->cgroups().V1("pids").empty() ? oci->cgroups().unified : oci->cgroups().V1("pids"),
               oci->CgroupPath("t.exec.1")),
      "cgroup.procs");
  EXPECT_TRUE(Eventually([&] { return ReadOrEmpty(procs) == std::to_string(st.pid) + "\n"; }, 3s))
      << ReadOrEmpty(procs);
  r = runtime_->Exec("t.exec.1", {"no-such-program"}, 5s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_NE(r->exit_code, 0);
  EXPECT_TRUE(Contains(r->output, "no-such-program")) << r->output;
  EXPECT_EQ(runtime_->Exec("t.none.1", {"true"}, 5s).status().code(), StatusCode::kNotFound);
  ASSERT_TRUE(runtime_->Kill("t.exec.1", SIGKILL).ok());
  ASSERT_TRUE(WaitExit(st).has_value());
  EXPECT_EQ(runtime_->Exec("t.exec.1", {"true"}, 5s).status().code(), StatusCode::kFailedPrecondition);
}

TEST_F(RuntimeIntegrationTest, MissingProgramIsAClearCreateError) {
  Status s = runtime_->Create(Spec("t.miss.1", {"gunicornn", "app:app"}));
  EXPECT_EQ(s.code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(s.message(), "create t.miss.1: program \"gunicornn\" not found in the image");
  EXPECT_FALSE(PathExists(options_.run_dir + "/bundles/t.miss.1"));
  ASSERT_TRUE(runtime_->Create(Spec("t.miss.2", {"sleep", "1"})).ok());
  EXPECT_EQ(runtime_->Create(Spec("t.miss.2", {"sleep", "1"})).code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(runtime_->State("t.none.1").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(runtime_->Start("t.none.1").status().code(), StatusCode::kNotFound);
}

// Not a benchmark (bench/ will have one): prints the medians seen, asserts only sanity.
TEST_F(RuntimeIntegrationTest, CreateStartDeleteTimings) {
  std::vector<double> create, start, del;
  for (int i = 0; i < 7; ++i) {
    std::string id = "t.time." + std::to_string(i);
    auto t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(runtime_->Create(Spec(id, {"sleep", "60"})).ok());
    create.push_back(MillisSince(t0));
    t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(runtime_->Start(id).ok());
    start.push_back(MillisSince(t0));
    t0 = std::chrono::steady_clock::now();
    ASSERT_TRUE(runtime_->Delete(id).ok());
    del.push_back(MillisSince(t0));
  }
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  std::printf("[ timing ] median of 7: create %.0f ms, start %.0f ms, delete %.0f ms\n", median(create),
              median(start), median(del));
  EXPECT_LT(median(create), 2000);
}

TEST_F(RuntimeIntegrationTest, CrunFailsClearlyOnAHybridHost) {
  auto crun = FindProgram("crun");
  if (!crun.ok()) GTEST_SKIP() << "crun not installed";
  RuntimeOptions o = options_;
  o.name = "crun";
  auto rt = NewRuntime(o);
  ASSERT_TRUE(rt.ok()) << rt.status().ToString();
  other_ = std::move(*rt);
  auto* oci = dynamic_cast<OciRuntime*>(other_.get());
  Status s = other_->Create(Spec("t.crun.1", {"true"}));
  if (oci->cgroups().unified_only) {
    EXPECT_TRUE(s.ok()) << "crun should work on a pure cgroup v2 host: " << s.ToString();
    return;
  }
  std::printf("[ crun ] %s\n", s.ToString().c_str());
  ASSERT_FALSE(s.ok());
  EXPECT_TRUE(Contains(s.message(), "create t.crun.1: crun create: ")) << s.message();
  EXPECT_TRUE(Contains(s.message(), "hybrid")) << s.message();
  EXPECT_FALSE(PathExists(oci->BundleDir("t.crun.1")));
}

}  // namespace
}  // namespace berth::runtime::it
