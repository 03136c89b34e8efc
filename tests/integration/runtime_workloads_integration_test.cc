// The workloads Berth exists for, under the default hardening and seccomp profile:
// Python threads/multiprocessing/asyncio, gunicorn, PostgreSQL 15, Jupyter (fixture and
// skip rules: runtime_fixture.h).
#include <sys/stat.h>
#include <sys/wait.h>

#include "runtime_fixture.h"

namespace berth::runtime::it {
namespace {

TEST_F(RuntimeIntegrationTest, PythonThreadsMultiprocessingAsyncioUnderTheProfile) {
  std::string py =
      "import asyncio, multiprocessing as mp, threading, subprocess\n"
      "def sq(x): return x * x\n"
      "async def main():\n"
      "    await asyncio.sleep(0.01)\n"
      "    p = await asyncio.create_subprocess_exec('true')\n"
      "    return await p.wait()\n"
      "if __name__ == '__main__':\n"
      "    ts = [threading.Thread(target=sq, args=(i,)) for i in range(8)]\n"
      "    [t.start() for t in ts]; [t.join() for t in ts]\n"
      "    with mp.Pool(2) as pool: total = sum(pool.map(sq, range(10)))\n"
      "    ctx = mp.get_context('spawn')\n"
      "    with ctx.Pool(1) as pool: total += sum(pool.map(sq, range(3)))\n"
      "    print('ok', total, asyncio.run(main()), subprocess.run(['true']).returncode)\n";
  // A file, not -c: spawn-context workers re-import __main__ from its path.
  std::string app = dir_ + "/app";
  ASSERT_TRUE(MakeDirs(app).ok());
  ASSERT_TRUE(WriteFileAtomic(app + "/work.py", py).ok());
  for (const char* user : {"", "nobody"}) {
    std::string id = std::string("t.pyproc.") + (*user ? "2" : "1");
    ContainerSpec spec = Spec(id, {"python3", "/srv/work.py"});
    spec.binds = {{app, "/srv", true}};
    spec.user = user;
    int code = -1;
    std::string out = RunToEnd(spec, &code);
    EXPECT_EQ(code, 0) << user << ": " << out;
    EXPECT_EQ(out, "ok 290 0 0\n") << user;
  }
}

TEST_F(RuntimeIntegrationTest, GunicornServesFromABoundAppDirectory) {
  std::string app = dir_ + "/app";
  ASSERT_TRUE(MakeDirs(app).ok());
  ASSERT_TRUE(WriteFileAtomic(app + "/app.py",
                              "def app(environ, start_response):\n"
                              "    start_response('200 OK', [('Content-Type', 'text/plain')])\n"
                              "    return [b'hello from gunicorn']\n")
                  .ok());
  int port = FreePort();
  ContainerSpec spec =
      Spec("t.gunicorn.1", {"gunicorn", "-w", "2", "-b", "127.0.0.1:" + std::to_string(port), "app:app"});
  spec.binds = {{app, "/srv/app", true}};
  spec.working_dir = "/srv/app";
  spec.user = "nobody";
  spec.limits.memory_bytes = 256LL << 20;
  spec.limits.cpus = 1;
  ASSERT_GT(Run(spec).pid, 0);
  std::string resp;
  EXPECT_TRUE(Eventually([&] { return Contains(resp = HttpGet(port, "/"), "hello from gunicorn"); }, 20s))
      << resp << "\n"
      << ReadOrEmpty(spec.stdout_path);
}

TEST_F(RuntimeIntegrationTest, PostgresRunsAsPostgresOnAVolume) {
  if (!PathExists("/usr/lib/postgresql/15/bin/postgres")) GTEST_SKIP() << "needs PostgreSQL 15";
  std::string data = dir_ + "/pgdata";
  ASSERT_TRUE(MakeDirs(data).ok());
  ContainerSpec init =
      Spec("t.pg.1", {"sh", "-c",
                      "/usr/lib/postgresql/15/bin/initdb -D /data/pg -A trust -U postgres >/dev/null "
                      "&& echo initdb=ok"});
  init.user = "postgres";
  init.binds = {{data, "/data", false}};
  // The volume must belong to the user: the daemon's job, done here by hand.
  auto pw = berth::Run({"id", "-u", "postgres"});
  ASSERT_TRUE(pw.ok() && pw->ok());
  ASSERT_EQ(chown(data.c_str(), std::stoi(pw->out), 0), 0);
  int code = -1;
  std::string out = RunToEnd(init, &code);
  ASSERT_EQ(code, 0) << out;
  int port = FreePort();
  ContainerSpec db = Spec("t.pg.2", {"/usr/lib/postgresql/15/bin/postgres", "-D", "/data/pg", "-k", "/tmp",
                                     "-p", std::to_string(port), "-c", "listen_addresses=127.0.0.1"});
  db.user = "postgres";
  db.binds = init.binds;
  db.limits.memory_bytes = 256LL << 20;
  ASSERT_GT(Run(db).pid, 0);
  std::vector<std::string> query = {"psql",
                                    "-h",
                                    "/tmp",
                                    "-p",
                                    std::to_string(port),
                                    "-U",
                                    "postgres",
                                    "-Atc",
                                    "create table t(x int); insert into t values (42); select x from t"};
  StatusOr<ExecResult> r = Status(StatusCode::kInternal, "not run");
  EXPECT_TRUE(Eventually(
      [&] {
        r = runtime_->Exec("t.pg.2", query, 10s);
        return r.ok() && r->exit_code == 0;
      },
      30s))
      << (r.ok() ? r->output : r.status().ToString()) << ReadOrEmpty(db.stdout_path);
  EXPECT_EQ(r.ok() ? r->output : "", "CREATE TABLE\nINSERT 0 1\n42\n");
  EXPECT_TRUE(PathExists(data + "/pg/PG_VERSION"));
}

TEST_F(RuntimeIntegrationTest, JupyterServerAndKernelRun) {
  auto probe = berth::Run({"/usr/bin/python3", "-c", "import notebook, ipykernel"});
  if (!probe.ok() || !probe->ok()) GTEST_SKIP() << "needs python3-notebook";
  int port = FreePort();
  ContainerSpec spec = Spec(
      "t.jupyter.1",
      {"python3", "-m", "notebook", "--no-browser", "--ip=127.0.0.1", "--port=" + std::to_string(port),
       "--NotebookApp.token=", "--NotebookApp.notebook_dir=/tmp", "--NotebookApp.disable_check_xsrf=True"});
  spec.env = {"HOME=/tmp"};
  spec.user = "nobody";
  std::string out = dir_ + "/out";
  ASSERT_TRUE(MakeDirs(out).ok());
  ASSERT_EQ(chmod(out.c_str(), 0777), 0);
  spec.binds = {{out, "/out", false}};
  ASSERT_GT(Run(spec).pid, 0);
  ASSERT_TRUE(Eventually([&] { return Contains(HttpGet(port, "/api/status"), "200 OK"); }, 30s))
      << ReadOrEmpty(spec.stdout_path);
  // The kernel: nbclient (jupyter-execute) starts ipykernel and runs a cell over ZeroMQ.
  std::string nb =
      R"nb({"cells": [{"cell_type": "code", "execution_count": null, "metadata": {}, "outputs": [],
    "source": ["open('/out/result', 'w').write(str(6 * 7))"]}],
    "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
    "nbformat": 4, "nbformat_minor": 5})nb";
  ASSERT_TRUE(WriteFileAtomic(out + "/nb.ipynb", nb, 0644).ok());
  auto r = runtime_->Exec("t.jupyter.1", {"jupyter-execute", "/out/nb.ipynb"}, 60s);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->exit_code, 0) << r->output;
  EXPECT_EQ(ReadOrEmpty(out + "/result"), "42") << r->output;
}

}  // namespace
}  // namespace berth::runtime::it
