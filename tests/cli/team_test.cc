// End to end: a team sharing the store through real Git servers on loopback (stock `git daemon`
// serving git://, and a file:// path), and release files (Git bundles) carried to a workspace
// that cannot reach the server. Stock git reads what cfgit writes on both sides.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "tests/cli/cli_fixture.h"

namespace cfgit::test {
namespace {

namespace fs = std::filesystem;

// A socket bound to a free loopback port (not listening yet), and the port.
int BindLoopback(int* port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  *port = ntohs(addr.sin_port);
  return fd;
}

// A loopback port nobody listens on right now.
int FreePort() {
  int port = 0;
  ::close(BindLoopback(&port));
  return port;
}

bool Accepts(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Bare repositories in a temporary directory: team.git, reachable as a file:// URL and, once
// Serve() ran, through stock `git daemon` on a free loopback port (stopped at the end).
class GitServer {
 public:
  GitServer() {
    RunResult r = Shell(dir_.path(), "git init -q --bare team.git");
    CFGIT_EXPECT_EXIT(r, 0);
  }
  ~GitServer() {
    if (pid_ > 0) ::kill(pid_, SIGTERM);
  }
  GitServer(const GitServer&) = delete;
  GitServer& operator=(const GitServer&) = delete;

  void Serve() {
    port_ = FreePort();
    RunResult r =
        Shell(dir_.path(), "git daemon --export-all --enable=receive-pack --base-path='" +
                               dir_.path() + "' --port=" + std::to_string(port_) +
                               " --listen=127.0.0.1 --reuseaddr --detach --pid-file=daemon.pid");
    CFGIT_EXPECT_EXIT(r, 0);
    // The detached daemon writes its pid file and starts listening a moment later.
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    std::string pid;
    while ((pid = Trim(ReadFile(dir_ / "daemon.pid"))).empty() || !Accepts(port_)) {
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    pid_ = std::stoi(pid);
  }
  std::string GitUrl() const { return "git://127.0.0.1:" + std::to_string(port_) + "/team.git"; }
  std::string FileUrl() const { return "file://" + dir_ / "team.git"; }
  // `git --git-dir=team.git ARGS`, trimmed stdout (exit status must be 0).
  std::string Git(const std::string& args) const {
    RunResult r = Shell(dir_.path(), "git --git-dir=team.git " + args);
    INFO("git " << args << "\n" << r.err);
    REQUIRE(r.exit_code == 0);
    return Trim(r.out);
  }
  std::string Refs() const { return Git("for-each-ref --format='%(objectname) %(refname)'"); }
  const TempDir& dir() const { return dir_; }

 private:
  TempDir dir_;
  int port_ = 0;
  pid_t pid_ = -1;
};

const char* kSettings =
    "CREATE TABLE settings (name TEXT PRIMARY KEY, value TEXT, note TEXT);"
    "INSERT INTO settings VALUES ('theme', 'light', 'ui'), ('lang', 'en', 'i18n'),"
    "  ('tz', 'UTC', 'time');";

// The row file of `settings` whose key is `name`, at REV.
std::string Setting(const Ws& ws, const std::string& rev, const std::string& name) {
  for (const std::string& text : ws.RowTexts(rev, "settings")) {
    if (text.rfind("name: '" + name + "'\n", 0) == 0) return text;
  }
  return "";
}

// Alice's workspace: environment dev with a first commit, pushed to the server at `url`.
struct Alice : Ws {
  explicit Alice(const std::string& url) {
    AddEnv("dev");
    Sqlite(Db("dev"), kSettings);
    Commit("dev", "base");
    CFGIT_EXPECT_EXIT(Run("remote add origin '" + url + "'"), 0);
    RunResult push = Run("push");
    CFGIT_EXPECT_EXIT(push, 0);
    CHECK_THAT(push.out, Catch::Contains("dev  (new) "));
  }
};

// Bob's workspace: a clone of `url`, dev's database a copy of `from`'s.
struct Bob : Ws {
  Bob(const std::string& url, const Ws& from) : Ws(Ws::Empty{}) {
    RunResult clone = Run("clone '" + url + "' .");
    CFGIT_EXPECT_EXIT(clone, 0);
    CHECK_THAT(clone.out, Catch::Contains("1 branch"));
    CFGIT_EXPECT_EXIT(Run("env add dev sqlite:dev.db"), 0);
    fs::copy_file(from.Db("dev"), Db("dev"));
  }
};

TEST_CASE("team: two workspaces exchange dev branches through git daemon and file://",
          "[cli][team]") {
  GitServer server;
  std::string url;
  SECTION("git:// served by git daemon") {
    server.Serve();
    url = server.GitUrl();
  }
  SECTION("a file:// path") { url = server.FileUrl(); }
  Alice alice(url);
  std::string base = alice.GitOut("rev-parse dev");
  CHECK(server.Git("rev-parse refs/heads/dev") == base);
  CHECK(alice.GitOut("rev-parse refs/remotes/origin/dev") == base);

  Bob bob(url, alice);
  CHECK(bob.GitOut("rev-parse refs/heads/dev") == base);
  CHECK(bob.GitOut("remote get-url origin") == url);  // Git's own remote configuration

  // Alice commits and pushes; Bob pulls and has her commit.
  Sqlite(alice.Db("dev"), "UPDATE settings SET value = 'dark' WHERE name = 'theme';");
  std::string second = alice.Commit("dev", "dark theme");
  CFGIT_EXPECT_EXIT(alice.Run("push"), 0);
  RunResult pull = bob.Run("pull");
  CFGIT_EXPECT_EXIT(pull, 0);
  CHECK_THAT(pull.out,
             Catch::Contains("origin/dev  " + base.substr(0, 10) + " -> " + second.substr(0, 10)));
  CHECK_THAT(pull.out, Catch::Contains("dev: fast-forward " + base.substr(0, 10) + " -> " +
                                       second.substr(0, 10)));
  CHECK_THAT(pull.out, Catch::Contains("cfgit apply ENV (dev)"));
  CHECK(bob.GitOut("rev-parse dev") == second);
  CHECK(Setting(bob, "dev", "theme") == "name: 'theme'\nvalue: 'dark'\nnote: 'ui'");

  // Bob commits on top; Alice pulls his work back. Pull again: nothing to do.
  Sqlite(bob.Db("dev"),
         "UPDATE settings SET value = 'dark' WHERE name = 'theme';"
         "INSERT INTO settings VALUES ('currency', 'EUR', NULL);");
  std::string third = bob.Commit("dev", "currency");
  CFGIT_EXPECT_EXIT(bob.Run("push origin dev"), 0);
  CFGIT_EXPECT_EXIT(alice.Run("pull origin dev"), 0);
  CHECK(alice.GitOut("rev-parse dev") == third);
  RunResult again = alice.Run("pull --format json");
  CFGIT_EXPECT_EXIT(again, 0);
  CHECK_THAT(again.out, Catch::Contains("\"branch\":\"dev\",\"result\":\"up-to-date\""));
  CHECK(server.Git("rev-list --count dev") == "3");
}

TEST_CASE("team: a concurrent push is rejected, and pull merges the other side cell by cell",
          "[cli][team]") {
  GitServer server;
  server.Serve();
  Alice alice(server.GitUrl());
  Bob bob(server.GitUrl(), alice);
  Sqlite(alice.Db("dev"), "UPDATE settings SET value = 'dark' WHERE name = 'theme';");
  std::string theirs = alice.Commit("dev", "alice: theme");
  Sqlite(bob.Db("dev"), "UPDATE settings SET note = 'locale' WHERE name = 'lang';");
  std::string ours = bob.Commit("dev", "bob: lang note");
  CFGIT_EXPECT_EXIT(alice.Run("push"), 0);

  RunResult rejected = bob.Run("push");
  CFGIT_EXPECT_EXIT(rejected, 1);
  CHECK_THAT(rejected.out, Catch::Contains("dev  REJECTED"));
  CHECK_THAT(rejected.err, Catch::Contains("push to origin rejected"));
  CHECK_THAT(rejected.err, Catch::Contains("dev: origin has commits"));
  CHECK_THAT(rejected.err, Catch::Contains("run cfgit pull origin first"));
  CHECK(server.Git("rev-parse dev") == theirs);  // nothing overwritten

  RunResult pull = bob.Run("pull");
  CFGIT_EXPECT_EXIT(pull, 0);
  CHECK_THAT(pull.out, Catch::Contains("dev: merged origin/dev: [dev "));
  CHECK_THAT(pull.out, Catch::Contains(" settings: 1 row kept from ours, 1 row from theirs"));
  std::string merge = bob.GitOut("rev-parse dev");
  CHECK(bob.GitOut("rev-parse dev^1") == ours);
  CHECK(bob.GitOut("rev-parse dev^2") == theirs);
  CHECK(Setting(bob, "dev", "theme") == "name: 'theme'\nvalue: 'dark'\nnote: 'ui'");
  CHECK(Setting(bob, "dev", "lang") == "name: 'lang'\nvalue: 'en'\nnote: 'locale'");
  CHECK(bob.GitOut("log -1 --format=%s dev") == "Merge origin/dev into dev");

  RunResult push = bob.Run("push --format json");
  CFGIT_EXPECT_EXIT(push, 0);
  CHECK_THAT(push.out,
             Catch::Contains("\"ref\":\"refs/heads/dev\",\"local\":\"" + merge +
                             "\",\"remote_before\":\"" + theirs + "\",\"result\":\"pushed\""));
  CHECK(server.Git("rev-parse dev") == merge);

  // --force overwrites: Alice rewinds the server to her commit.
  RunResult forced = alice.Run("push --force origin dev");
  CFGIT_EXPECT_EXIT(forced, 0);
  CHECK_THAT(forced.out, Catch::Contains("(forced)"));
  CHECK(server.Git("rev-parse dev") == theirs);
}

TEST_CASE("team: a conflicting pull stops with exit 1 and cfgit conflicts lists the conflict",
          "[cli][team]") {
  GitServer server;
  Alice alice(server.FileUrl());
  Bob bob(server.FileUrl(), alice);
  Sqlite(alice.Db("dev"), "UPDATE settings SET value = 'dark' WHERE name = 'theme';");
  std::string theirs = alice.Commit("dev", "alice: dark");
  CFGIT_EXPECT_EXIT(alice.Run("push"), 0);
  Sqlite(bob.Db("dev"), "UPDATE settings SET value = 'blue' WHERE name = 'theme';");
  std::string ours = bob.Commit("dev", "bob: blue");

  RunResult pull = bob.Run("pull");
  CFGIT_EXPECT_EXIT(pull, 1);
  CHECK_THAT(pull.out, Catch::Contains("dev: merge of origin/dev stopped: 1 conflict; dev has "
                                       "not moved"));
  CHECK_THAT(pull.err, Catch::Contains("merge of origin/dev into dev has conflicts"));
  CHECK_THAT(pull.err, Catch::Contains("cfgit conflicts dev"));
  CHECK(bob.GitOut("rev-parse dev") == ours);

  RunResult conflicts = bob.Run("conflicts dev");
  CFGIT_EXPECT_EXIT(conflicts, 0);
  CHECK_THAT(conflicts.out, Catch::Contains("merge of origin/dev into dev: 1 conflict"));
  CHECK_THAT(conflicts.out, Catch::Contains("modify/modify in settings --key theme (value)"));
  CHECK_THAT(conflicts.out, Catch::Contains("theirs: value: 'dark'"));

  // A second pull does not start another merge over the one in progress.
  RunResult busy = bob.Run("pull");
  CFGIT_EXPECT_EXIT(busy, 1);
  CHECK_THAT(busy.out, Catch::Contains("dev: not merged: a merge of origin/dev into dev is "
                                       "already in progress"));

  CFGIT_EXPECT_EXIT(bob.Run("resolve dev --theirs"), 0);
  CFGIT_EXPECT_EXIT(bob.Run("merge --continue dev"), 0);
  CHECK(bob.GitOut("rev-parse dev^2") == theirs);
  CHECK(Setting(bob, "dev", "theme") == "name: 'theme'\nvalue: 'dark'\nnote: 'ui'");
  CFGIT_EXPECT_EXIT(bob.Run("push"), 0);
}

TEST_CASE("team: stock git clones the served store and reads cfgit's commits", "[cli][team]") {
  GitServer server;
  server.Serve();
  Alice alice(server.GitUrl());
  Sqlite(alice.Db("dev"), "DELETE FROM settings WHERE name = 'tz';");
  alice.Commit("dev", "no tz");
  CFGIT_EXPECT_EXIT(alice.Run("tag v1 dev -m 'First release'"), 0);
  CFGIT_EXPECT_EXIT(alice.Run("push"), 0);

  TempDir copy;
  RunResult clone = Shell(copy.path(), "git clone -q --bare '" + server.GitUrl() + "' c.git");
  CFGIT_EXPECT_EXIT(clone, 0);
  RunResult log = Shell(copy.path(), "git --git-dir=c.git log --format=%H dev");
  CFGIT_EXPECT_EXIT(log, 0);
  CHECK(Trim(log.out) == alice.GitOut("log --format=%H dev"));
  RunResult tag = Shell(copy.path(), "git --git-dir=c.git rev-parse 'v1^{commit}'");
  CHECK(Trim(tag.out) == alice.GitOut("rev-parse dev"));
  CHECK(Shell(copy.path(), "git --git-dir=c.git fsck --strict").exit_code == 0);

  // cfgit's own clone is a store stock git reads too, with origin configured as Git does.
  Ws bob{Ws::Empty{}};
  CFGIT_EXPECT_EXIT(bob.Run("clone '" + server.GitUrl() + "' ."), 0);
  CHECK(bob.GitOut("log --format=%H dev") == alice.GitOut("log --format=%H dev"));
  CHECK(bob.GitOut("rev-parse v1") == alice.GitOut("rev-parse v1"));
  CHECK(bob.GitOut("symbolic-ref HEAD") == "refs/heads/dev");
  CHECK_THAT(bob.GitOut("remote -v"), Catch::Contains("origin\t" + server.GitUrl() + " (fetch)"));
  CHECK(bob.GitOut("config remote.origin.fetch") == "+refs/heads/*:refs/remotes/origin/*");
}

TEST_CASE("team: clone lists environments without a url, and commands that need one say so",
          "[cli][team]") {
  GitServer server;
  Alice alice(server.FileUrl());
  CFGIT_EXPECT_EXIT(alice.Run("branch staging dev"), 0);
  CFGIT_EXPECT_EXIT(alice.Run("push"), 0);

  Ws bob{Ws::Empty{}};
  RunResult clone = bob.Run("clone '" + server.FileUrl() + "' .");
  CFGIT_EXPECT_EXIT(clone, 0);
  CHECK_THAT(clone.out, Catch::Contains("2 branches, 0 tags"));
  CHECK_THAT(clone.out, Catch::Contains("without a database: dev, staging"));
  std::string yaml = ReadFile(bob / "cfgit.yaml");
  CHECK_THAT(yaml, Catch::Contains("\n  dev: {}\n  staging: {}\n"));

  RunResult commit = bob.Run("commit dev -m x");
  CFGIT_EXPECT_EXIT(commit, 4);
  CHECK_THAT(commit.err, Catch::Contains("environment 'dev' has no url: set it in cfgit.yaml, or "
                                         "with cfgit env add dev URL"));
  RunResult status = bob.Run("status");
  CFGIT_EXPECT_EXIT(status, 0);
  CHECK_THAT(status.out, Catch::Contains("live:     no database url in cfgit.yaml; set it with: "
                                         "cfgit env add staging URL"));

  CFGIT_EXPECT_EXIT(bob.Run("env add staging sqlite:staging.db --protected"), 0);
  CHECK_THAT(ReadFile(bob / "cfgit.yaml"),
             Catch::Contains("\n  dev: {}\n  staging: { url: \"sqlite:staging.db\", protected: "
                             "true }\n"));
  RunResult again = bob.Run("env add staging sqlite:other.db");
  CFGIT_EXPECT_EXIT(again, 2);

  // A clone that cannot happen leaves nothing behind.
  Ws carol{Ws::Empty{}};
  CFGIT_EXPECT_EXIT(carol.Run("clone '" + server.FileUrl() + "' ."), 0);
  CFGIT_EXPECT_EXIT(carol.Run("clone '" + server.FileUrl() + "' ."), 2);  // not empty
  RunResult missing =
      carol.Run("clone git://127.0.0.1:" + std::to_string(FreePort()) + "/none.git gone");
  CFGIT_EXPECT_EXIT(missing, 1);
  CHECK_THAT(missing.err, Catch::Contains("cannot clone: cannot fetch from origin"));
  CHECK_FALSE(fs::exists(carol / "gone"));
}

TEST_CASE("team: refs/cfgit (backups, deployed) are pushed only when named", "[cli][team]") {
  GitServer server;
  Alice alice(server.FileUrl());
  std::string head = alice.GitOut("rev-parse dev");
  alice.GitOut("update-ref refs/cfgit/backups/dev/20260101-000000 " + head);
  CHECK(alice.GitOut("rev-parse refs/cfgit/deployed/dev") == head);
  CFGIT_EXPECT_EXIT(alice.Run("push"), 0);
  CHECK(server.Refs() == head + " refs/heads/dev");

  RunResult named = alice.Run("push origin refs/cfgit/backups/dev/20260101-000000");
  CFGIT_EXPECT_EXIT(named, 0);
  CHECK(server.Git("rev-parse refs/cfgit/backups/dev/20260101-000000") == head);
  CHECK(server.Git("for-each-ref --format='%(refname)' refs/cfgit/deployed") == "");

  RunResult unknown = alice.Run("push origin nosuch");
  CFGIT_EXPECT_EXIT(unknown, 2);
  CHECK_THAT(unknown.err, Catch::Contains("there is no branch or tag 'nosuch' to push"));
}

TEST_CASE("team: remote add, list and remove, and credentials never appear in output",
          "[cli][team]") {
  Ws ws;
  const std::string secret = "hunter2-very-secret";
  int closed = FreePort();
  const std::string url =
      "https://bob:" + secret + "@127.0.0.1:" + std::to_string(closed) + "/team.git";
  CFGIT_EXPECT_EXIT(ws.Run("remote add origin '" + url + "'"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("remote add token 'https://${CFGIT_TEST_TOKEN}@example.invalid/r.git'"),
                    0);
  CFGIT_EXPECT_EXIT(ws.Run("remote add origin /tmp/x"), 2);
  CFGIT_EXPECT_EXIT(ws.Run("remote add 'bad name' /tmp/x"), 2);

  RunResult list = ws.Run("remote list");
  CFGIT_EXPECT_EXIT(list, 0);
  CHECK(list.out == "origin  https://***@127.0.0.1:" + std::to_string(closed) +
                        "/team.git\ntoken   https://***@example.invalid/r.git\n");
  RunResult json = ws.Run("remote list --format json");
  CHECK_THAT(json.out, Catch::StartsWith("[{\"name\":\"origin\",\"url\":\"https://***@"));
  CHECK(ws.GitOut("config remote.token.url") ==
        "https://${CFGIT_TEST_TOKEN}@example.invalid/r.git");  // kept unexpanded

  for (const char* command : {"fetch", "push", "pull"}) {
    RunResult r = ws.Run(std::string(command) + " origin");
    INFO(command);
    CFGIT_EXPECT_EXIT(r, 1);
    CHECK_THAT(r.err, Catch::Contains("https://***@127.0.0.1:" + std::to_string(closed)));
    CHECK(r.err.find(secret) == std::string::npos);
    CHECK(r.out.find(secret) == std::string::npos);
  }
  RunResult unset = ws.Run("fetch token");
  CFGIT_EXPECT_EXIT(unset, 1);
  CHECK_THAT(unset.err, Catch::Contains("CFGIT_TEST_TOKEN"));
  CHECK_THAT(unset.err, Catch::Contains("are not set"));
  CFGIT_EXPECT_EXIT(ws.Run("fetch nosuch"), 2);

  CFGIT_EXPECT_EXIT(ws.Run("remote remove token"), 0);
  CFGIT_EXPECT_EXIT(ws.Run("remote remove token"), 2);
  CHECK(ws.Git("config remote.token.url").exit_code != 0);
}

// An HTTP server on loopback that refuses every request with 401, counting them.
class RefusingServer {
 public:
  RefusingServer() {
    fd_ = BindLoopback(&port_);
    REQUIRE(::listen(fd_, 16) == 0);
    thread_ = std::thread([this] { Loop(); });
  }
  ~RefusingServer() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  RefusingServer(const RefusingServer&) = delete;
  RefusingServer& operator=(const RefusingServer&) = delete;
  int port() const { return port_; }
  int requests() const { return requests_; }

 private:
  void Loop() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) <= 0) continue;
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) continue;
      char buf[8192];
      std::string request;
      while (request.find("\r\n\r\n") == std::string::npos) {
        pollfd q{c, POLLIN, 0};
        if (::poll(&q, 1, 2000) <= 0) break;
        ssize_t n = ::read(c, buf, sizeof buf);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
      }
      ++requests_;
      const std::string reply =
          "HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"team\"\r\n"
          "Content-Length: 0\r\nConnection: close\r\n\r\n";
      [[maybe_unused]] ssize_t w = ::write(c, reply.data(), reply.size());
      ::close(c);
    }
  }
  int fd_ = -1, port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

TEST_CASE("team: refused credentials fail after each source was offered once, unprinted",
          "[cli][team]") {
  RefusingServer server;
  Ws ws;
  const std::string secret = "url-password-123";
  CFGIT_EXPECT_EXIT(ws.Run("remote add origin 'http://bob:" + secret +
                           "@127.0.0.1:" + std::to_string(server.port()) + "/team.git'"),
                    0);
  auto started = std::chrono::steady_clock::now();
  // No git configuration of this machine's user: `git credential fill` has no helper to ask.
  RunResult r = Shell(ws.path(),
                      "CFGIT_GIT_PASSWORD=env-password-456 GIT_CONFIG_NOSYSTEM=1 "
                      "HOME=/nonexistent '" CFGIT_BINARY "' fetch");
  CFGIT_EXPECT_EXIT(r, 1);
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));
  CHECK_THAT(r.err, Catch::Contains("the server refused the credentials"));
  CHECK(r.err.find(secret) == std::string::npos);
  CHECK(r.err.find("env-password-456") == std::string::npos);
  // Without credentials, with the URL's, with CFGIT_GIT_PASSWORD's; then it gave up.
  CHECK(server.requests() == 3);
}

// A workspace with dev committed twice and tag v1 on the first commit.
struct Release : Ws {
  std::string first, second;
  Release() {
    AddEnv("dev");
    Sqlite(Db("dev"), kSettings);
    first = Commit("dev", "first");
    CFGIT_EXPECT_EXIT(Run("tag v1 dev -m 'First release'"), 0);
    Sqlite(Db("dev"), "UPDATE settings SET value = 'de' WHERE name = 'lang';");
    second = Commit("dev", "second");
  }
};

// What a failed import must leave as it was: every ref and the pack files.
std::string StoreState(const Ws& ws) {
  std::string state = ws.GitOut("for-each-ref --format='%(objectname) %(refname)'") + "\n";
  for (const auto& e : fs::directory_iterator(ws / ".cfgit/objects/pack")) {
    state += e.path().filename().string() + "\n";
  }
  if (fs::exists(ws / ".cfgit/cfgit")) {
    for (const auto& e : fs::directory_iterator(ws / ".cfgit/cfgit")) {
      state += e.path().filename().string() + "\n";
    }
  }
  return state;
}

TEST_CASE("team: export and import carry a release with matching commit ids, git reads the file",
          "[cli][team]") {
  Release a;
  RunResult exported = a.Run("export v1 -o v1.bundle");
  CFGIT_EXPECT_EXIT(exported, 0);
  CHECK_THAT(exported.out, Catch::StartsWith("Exported tag v1 (commit " + a.first.substr(0, 10) +
                                             ", 1 commit, "));
  CHECK_THAT(ReadFile(a / "v1.bundle"),
             Catch::StartsWith("# v2 git bundle\n" + a.GitOut("rev-parse refs/tags/v1") +
                               " refs/tags/v1\n\nPACK"));
  RunResult verify = a.Git("bundle verify v1.bundle");
  CFGIT_EXPECT_EXIT(verify, 0);
  TempDir plain;
  CFGIT_EXPECT_EXIT(Shell(plain.path(), "git clone -q '" + a / "v1.bundle" + "' c"), 0);
  CHECK(Trim(Shell(plain.path(), "git -C c rev-parse 'v1^{commit}'").out) == a.first);

  Ws iso;  // cannot reach any server: gets releases as files
  RunResult imported = iso.Run("import '" + a / "v1.bundle" + "'");
  CFGIT_EXPECT_EXIT(imported, 0);
  CHECK_THAT(imported.out, Catch::Contains("tag v1: new, at " + a.first.substr(0, 10) +
                                           ", 1 commit\n settings  new table, +3 -0 ~0\n"));
  CHECK(iso.GitOut("rev-parse refs/tags/v1") == a.GitOut("rev-parse refs/tags/v1"));
  CHECK(iso.GitOut("log --format=%H v1") == a.GitOut("log --format=%H v1"));
  CHECK(iso.Git("fsck --strict").exit_code == 0);
  RunResult twice = iso.Run("import '" + a / "v1.bundle" + "'");
  CFGIT_EXPECT_EXIT(twice, 0);
  CHECK_THAT(twice.out, Catch::Contains("tag v1: up to date"));

  // The next release only carries what v1 does not have.
  RunResult delta = a.Run("export dev -o dev.bundle --since v1 --format json");
  CFGIT_EXPECT_EXIT(delta, 0);
  CHECK_THAT(delta.out, Catch::Contains("\"commits\":1,"));
  CHECK_THAT(delta.out, Catch::Contains("\"prerequisites\":[\"" + a.first + "\"]"));
  RunResult json = iso.Run("import '" + a / "dev.bundle" + "' --format json");
  CFGIT_EXPECT_EXIT(json, 0);
  CHECK_THAT(json.out, Catch::Contains("{\"ref\":\"refs/heads/dev\",\"local\":\"refs/heads/dev\","
                                       "\"result\":\"created\",\"before\":null,\"commit\":\"" +
                                       a.second + "\",\"commits\":1,"));
  CHECK(iso.GitOut("log --format=%H dev") == a.GitOut("log --format=%H dev"));

  // A store without v1 cannot take the smaller file; nothing is written.
  Ws empty;
  std::string before = StoreState(empty);
  RunResult needs = empty.Run("import '" + a / "dev.bundle" + "'");
  CFGIT_EXPECT_EXIT(needs, 1);
  CHECK_THAT(needs.err, Catch::Contains("builds on commits this store does not have: " +
                                        a.first.substr(0, 10)));
  CHECK(StoreState(empty) == before);

  // iso's dev diverges: the file's dev is kept aside, to merge.
  std::string tree = iso.GitOut("rev-parse 'dev^{tree}'");
  std::string local = iso.GitOut("-c user.name=T -c user.email=t@example.com commit-tree " + tree +
                                 " -p " + a.first + " -m local");
  iso.GitOut("update-ref refs/heads/dev " + local);
  RunResult aside = iso.Run("import '" + a / "dev.bundle" + "'");
  CFGIT_EXPECT_EXIT(aside, 1);
  CHECK_THAT(aside.out, Catch::Contains("branch dev: diverged from this store's; kept at "
                                        "refs/cfgit/imports/heads/dev"));
  CHECK_THAT(aside.err, Catch::Contains("cfgit merge refs/cfgit/imports/heads/dev --into dev"));
  CHECK(iso.GitOut("rev-parse dev") == local);
  CHECK(iso.GitOut("rev-parse refs/cfgit/imports/heads/dev") == a.second);
}

TEST_CASE("team: truncated, corrupted or foreign release files are refused, nothing written",
          "[cli][team]") {
  Release a;
  CFGIT_EXPECT_EXIT(a.Run("export dev -o dev.bundle"), 0);
  const std::string good = ReadFile(a / "dev.bundle");
  const size_t pack = good.find("PACK");
  REQUIRE(pack != std::string::npos);
  Ws iso;
  const std::string before = StoreState(iso);

  std::string flipped = good;
  flipped[pack + (good.size() - pack) / 2] ^= 0x5a;
  struct Case {
    const char* name;
    std::string bytes;
    int exit;
    const char* says;
  };
  const Case cases[] = {
      {"truncated pack", good.substr(0, pack + (good.size() - pack) / 2), 1, "is damaged"},
      {"no checksum", good.substr(0, good.size() - 10), 1, "is damaged"},
      {"corrupted byte", flipped, 1, "is damaged"},
      {"truncated header", good.substr(0, 30), 1, "its header ends early"},
      {"no pack", good.substr(0, pack), 1, "is damaged"},
      {"not a bundle", "environments:\n", 2, "is not a release file"},
  };
  for (const Case& c : cases) {
    INFO(c.name);
    WriteFile(iso / "file.bundle", c.bytes);
    RunResult r = iso.Run("import file.bundle");
    CFGIT_EXPECT_EXIT(r, c.exit);
    CHECK_THAT(r.err, Catch::Contains(c.says));
    CHECK_THAT(r.err, Catch::Contains("nothing was imported") || Catch::Contains("not a release"));
    CHECK(StoreState(iso) == before);
  }
  WriteFile(iso / "file.bundle", good);
  CFGIT_EXPECT_EXIT(iso.Run("import file.bundle"), 0);
  CHECK(iso.GitOut("rev-parse dev") == a.second);
}

}  // namespace
}  // namespace cfgit::test
