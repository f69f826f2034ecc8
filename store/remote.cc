// Remotes: configuration, clone, fetch and push through libgit2 (see store/remote.h).
#include "store/remote.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <map>

#include "store/internal/git.h"
#include "store/internal/refs.h"
#include "store/internal/staging.h"

namespace cfgit {

namespace git {

Result<Repository> OpenBare(const std::string& path) {
  git_repository* repo = nullptr;
  int rc = git_repository_open_bare(&repo, path.c_str());
  Repository holder(repo);
  if (rc) return Error(rc, "opening the store " + path);
  return holder;
}

}  // namespace git

std::optional<Oid> RefTarget(git_repository* repo, const std::string& ref) {
  git_oid raw;
  if (git_reference_name_to_id(&raw, repo, ref.c_str()) != 0) return std::nullopt;
  return FromRaw(&raw);
}

Result<std::map<std::string, Oid>> RefsUnder(git_repository* repo, const std::string& prefix) {
  git_reference_iterator* it = nullptr;
  if (int rc = git_reference_iterator_new(&it, repo)) return git::Error(rc, "listing refs");
  git::RefIterator holder(it);
  std::map<std::string, Oid> out;
  git_reference* ref = nullptr;
  while (git_reference_next(&ref, it) == 0) {
    git::Reference ref_holder(ref);
    std::string name = git_reference_name(ref);
    if (!StartsWith(name, prefix) || git_reference_type(ref) != GIT_REFERENCE_DIRECT) continue;
    out[name] = FromRaw(git_reference_target(ref));
  }
  return out;
}

Status SetRef(git_repository* repo, const std::string& ref, const Oid& id, bool force,
              const std::string& log) {
  git_reference* out = nullptr;
  int rc = git_reference_create(&out, repo, ref.c_str(), Raw(id), force ? 1 : 0, log.c_str());
  git::Reference holder(out);
  if (rc) return git::Error(rc, "updating " + ref);
  return Status::Ok();
}

namespace {

constexpr int kMaxCredentialRequests = 5;

// Once per process: a server that closes its connection must not kill cfgit with SIGPIPE, and
// https needs the system's certificate authorities: the bundle file and the directory, each
// replaced by SSL_CERT_FILE / SSL_CERT_DIR when set (as OpenSSL reads them). libgit2's own start
// does not load them (store/repo.cc): this is where they are loaded; where they cannot be, what
// libgit2 would have loaded is.
void PrepareNetwork() {
  static const bool done = [] {
    ::signal(SIGPIPE, SIG_IGN);
    const char* file = std::getenv("SSL_CERT_FILE");
    const char* dir = std::getenv("SSL_CERT_DIR");
    if (!file && ::access("/etc/ssl/certs/ca-certificates.crt", R_OK) == 0) {
      file = "/etc/ssl/certs/ca-certificates.crt";
    }
    if (!dir && ::access("/etc/ssl/certs", R_OK) == 0) dir = "/etc/ssl/certs";
    git::LoadCertificateAuthorities(file, dir);
    return true;
  }();
  (void)done;
}

// scheme://[user[:password]@]host[:port]/path
struct UrlParts {
  std::string scheme, user, password, host, path;
  size_t host_at = 0;  // where the host starts in the URL
  bool has_userinfo = false;
};

std::optional<UrlParts> ParseUrl(const std::string& url) {
  size_t sep = url.find("://");
  if (sep == std::string::npos) return std::nullopt;
  UrlParts p;
  p.scheme = url.substr(0, sep);
  size_t start = sep + 3;
  size_t end = url.find_first_of("/?#", start);
  if (end == std::string::npos) end = url.size();
  std::string authority = url.substr(start, end - start);
  size_t at = authority.rfind('@');
  p.host_at = start;
  if (at != std::string::npos) {
    p.has_userinfo = true;
    std::string userinfo = authority.substr(0, at);
    size_t colon = userinfo.find(':');
    p.user = userinfo.substr(0, colon);
    if (colon != std::string::npos) p.password = userinfo.substr(colon + 1);
    authority = authority.substr(at + 1);
    p.host_at = start + at + 1;
  }
  p.host = authority;
  if (end < url.size() && url[end] == '/') p.path = url.substr(end + 1);
  return p;
}

bool IsHttp(const UrlParts& p) { return p.scheme == "http" || p.scheme == "https"; }

// What a callback learns during one transfer, and what the operation reports at its end.
struct Transfer {
  explicit Transfer(const TransferOptions& o) : options(o) {}
  const TransferOptions& options;
  std::string name;                  // the remote
  std::string shown_url;             // redacted, for messages
  std::string url;                   // expanded: may hold credentials, never printed
  std::vector<std::string> secrets;  // strings no message may contain
  int credential_requests = 0;
  bool tried_env = false, tried_helper = false, tried_agent = false, tried_ssh_user = false;
  std::map<std::string, std::string> refused;  // push: ref -> the server's reason
  TransferProgress progress;

  void AddSecretsOf(const std::string& u) {
    std::optional<UrlParts> p = ParseUrl(u);
    if (!p) return;
    if (!p->password.empty()) secrets.push_back(p->password);
    if (IsHttp(*p) && !p->user.empty()) secrets.push_back(p->user);
  }
  // `text` with the expanded URL shown redacted and every secret replaced by "***".
  std::string Scrub(std::string text) const {
    auto replace_all = [&text](const std::string& what, const std::string& with) {
      if (what.size() < 2) return;  // too short to tell apart from ordinary text
      for (size_t at = text.find(what); at != std::string::npos;
           at = text.find(what, at + with.size())) {
        text.replace(at, what.size(), with);
      }
    };
    if (!url.empty()) replace_all(url, shown_url);
    for (const std::string& s : secrets) replace_all(s, "***");
    return text;
  }
};

Status NetError(int code, const std::string& what, const Transfer& t) {
  const git_error* e = git_error_last();
  std::string detail = e && e->message ? e->message : "libgit2 error " + std::to_string(code);
  std::string hint;
  if (code != GIT_EAUTH) {
    hint = detail.find("authentication") != std::string::npos
               ? "; check the credentials (docs/teams.md, \"Credentials\")"
               : "; check the URL (cfgit remote list) and that the server is up";
  }
  return Status::NeedsAttention(t.Scrub(what + ": " + detail + hint));
}

// `git credential fill` for the URL, if git is installed and knows an answer. It does not prompt
// unless cfgit's standard input is a terminal.
std::optional<std::pair<std::string, std::string>> AskCredentialHelper(const std::string& url,
                                                                       const std::string& user) {
  std::optional<UrlParts> p = ParseUrl(url);
  if (!p) return std::nullopt;
  std::string input = "protocol=" + p->scheme + "\nhost=" + p->host + "\n";
  if (!p->path.empty()) input += "path=" + p->path + "\n";
  if (!user.empty()) input += "username=" + user + "\n";
  input += "\n";
  int to_child[2], from_child[2];
  if (::pipe2(to_child, O_CLOEXEC) != 0) return std::nullopt;
  if (::pipe2(from_child, O_CLOEXEC) != 0) {
    ::close(to_child[0]);
    ::close(to_child[1]);
    return std::nullopt;
  }
  bool prompt = ::isatty(STDIN_FILENO) == 1;
  pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(to_child[0], STDIN_FILENO);
    ::dup2(from_child[1], STDOUT_FILENO);
    int null = ::open("/dev/null", O_WRONLY);
    if (null >= 0) ::dup2(null, STDERR_FILENO);
    if (!prompt) ::setenv("GIT_TERMINAL_PROMPT", "0", 1);
    ::execlp("git", "git", "credential", "fill", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ::close(to_child[0]);
  ::close(from_child[1]);
  if (pid < 0) {
    ::close(to_child[1]);
    ::close(from_child[0]);
    return std::nullopt;
  }
  for (size_t done = 0; done < input.size();) {
    ssize_t n = ::write(to_child[1], input.data() + done, input.size() - done);
    if (n <= 0) break;
    done += static_cast<size_t>(n);
  }
  ::close(to_child[1]);
  std::string output;
  char buf[4096];
  for (ssize_t n; (n = ::read(from_child[0], buf, sizeof buf)) > 0;) {
    output.append(buf, static_cast<size_t>(n));
  }
  ::close(from_child[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return std::nullopt;
  std::string name, password;
  size_t start = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    if (line.rfind("username=", 0) == 0) name = line.substr(9);
    if (line.rfind("password=", 0) == 0) password = line.substr(9);
    start = end + 1;
  }
  if (password.empty()) return std::nullopt;
  return std::make_pair(name.empty() ? user : name, password);
}

int GiveUpOnCredentials() {
  std::string m =
      "the server refused the credentials, or none were found (tried, as the "
      "server allows: the URL's user and password, CFGIT_GIT_USERNAME and "
      "CFGIT_GIT_PASSWORD, git credential fill, ssh-agent); give them as ${VAR}s in "
      "the remote's URL, in CFGIT_GIT_USERNAME and CFGIT_GIT_PASSWORD, through a git "
      "credential helper, or (ssh) in ssh-agent; see docs/teams.md";
  git_error_set_str(GIT_ERROR_NET, m.c_str());
  return GIT_EAUTH;
}

int AcquireCredential(git_credential** out, const char* url, const char* user_from_url,
                      unsigned int allowed, void* payload) {
  auto* t = static_cast<Transfer*>(payload);
  if (++t->credential_requests > kMaxCredentialRequests) return GiveUpOnCredentials();
  std::string user = user_from_url ? user_from_url : "";
  if ((allowed & GIT_CREDENTIAL_SSH_KEY) && !t->tried_agent) {
    t->tried_agent = true;
    return git_credential_ssh_key_from_agent(out, user.empty() ? "git" : user.c_str());
  }
  if ((allowed & GIT_CREDENTIAL_USERNAME) && !t->tried_ssh_user) {
    t->tried_ssh_user = true;
    return git_credential_username_new(out, user.empty() ? "git" : user.c_str());
  }
  if (allowed & GIT_CREDENTIAL_USERPASS_PLAINTEXT) {
    if (!t->tried_env) {
      t->tried_env = true;
      const char* env_user = std::getenv("CFGIT_GIT_USERNAME");
      const char* env_password = std::getenv("CFGIT_GIT_PASSWORD");
      if (env_password && *env_password) {
        std::string name = env_user && *env_user ? env_user : user;
        t->secrets.push_back(env_password);
        return git_credential_userpass_plaintext_new(out, name.c_str(), env_password);
      }
    }
    if (!t->tried_helper) {
      t->tried_helper = true;
      if (auto c = AskCredentialHelper(url ? url : t->url, user)) {
        t->secrets.push_back(c->second);
        return git_credential_userpass_plaintext_new(out, c->first.c_str(), c->second.c_str());
      }
    }
  }
  return GiveUpOnCredentials();
}

int OnFetchProgress(const git_indexer_progress* stats, void* payload) {
  auto* t = static_cast<Transfer*>(payload);
  t->progress = {false, stats->received_objects, stats->total_objects, stats->received_bytes};
  if (t->options.on_progress) t->options.on_progress(t->progress);
  return 0;
}

int OnPushProgress(unsigned int current, unsigned int total, size_t bytes, void* payload) {
  auto* t = static_cast<Transfer*>(payload);
  t->progress = {true, current, total, bytes};
  if (t->options.on_progress) t->options.on_progress(t->progress);
  return 0;
}

int OnPushStatus(const char* ref, const char* status, void* payload) {
  if (status) static_cast<Transfer*>(payload)->refused[ref] = status;
  return 0;
}

git_remote_callbacks Callbacks(Transfer* t) {
  git_remote_callbacks c = GIT_REMOTE_CALLBACKS_INIT;
  c.credentials = AcquireCredential;
  c.transfer_progress = OnFetchProgress;
  c.push_transfer_progress = OnPushProgress;
  c.push_update_reference = OnPushStatus;
  c.payload = t;
  return c;
}

Status CheckRemoteName(const std::string& name) {
  int valid = 0;
  if (git_remote_name_is_valid(&valid, name.c_str()) != 0 || !valid ||
      name.find('/') != std::string::npos) {
    return Status::Usage("'" + name +
                         "' is not a valid remote name: use letters, digits, '-', '_' and '.'");
  }
  return Status::Ok();
}

Result<git::Config> RepoConfig(git_repository* repo) {
  git_config* cfg = nullptr;
  if (int rc = git_repository_config(&cfg, repo)) return git::Error(rc, "reading .cfgit/config");
  return git::Config(cfg);
}

// The configured URL of remote NAME (remote.NAME.url), if there is such a remote. Remotes are
// read from the configuration directly, not through git_remote_lookup: libgit2 1.5 leaks memory
// matching the url.*.insteadOf rules, which cfgit does not apply.
Result<std::optional<std::string>> ConfiguredUrl(git_repository* repo, const std::string& name) {
  CFGIT_RETURN_IF_ERROR(CheckRemoteName(name));
  CFGIT_ASSIGN_OR_RETURN(git::Config cfg, RepoConfig(repo));
  git_config_entry* entry = nullptr;
  int rc = git_config_get_entry(&entry, cfg.get(), ("remote." + name + ".url").c_str());
  if (rc == GIT_ENOTFOUND) return std::optional<std::string>();
  if (rc) return git::Error(rc, "reading remote " + name);
  std::string url = entry->value ? entry->value : "";
  git_config_entry_free(entry);
  return std::optional<std::string>(url);
}

// Remote NAME as an in-memory remote on its URL, expanded for this use only.
Result<git::Remote> OpenRemote(git_repository* repo, const std::string& name, Transfer* t) {
  CFGIT_ASSIGN_OR_RETURN(std::optional<std::string> configured, ConfiguredUrl(repo, name));
  if (!configured) {
    return Status::Usage("there is no remote '" + name +
                         "' (cfgit remote list shows them); add it with: cfgit remote add " + name +
                         " URL");
  }
  t->name = name;
  t->shown_url = RedactRemoteUrl(*configured);
  CFGIT_ASSIGN_OR_RETURN(t->url, ExpandVariables(*configured));
  t->AddSecretsOf(t->url);
  git_remote_create_options opts = GIT_REMOTE_CREATE_OPTIONS_INIT;
  opts.repository = repo;
  opts.flags = GIT_REMOTE_CREATE_SKIP_INSTEADOF | GIT_REMOTE_CREATE_SKIP_DEFAULT_FETCHSPEC;
  git_remote* r = nullptr;
  int rc = git_remote_create_with_opts(&r, t->url.c_str(), &opts);
  git::Remote remote(r);
  if (rc) return NetError(rc, "remote " + name + " (" + t->shown_url + ")", *t);
  return remote;
}

// The remote's refs as it advertises them (peeled "^{}" entries left out).
std::map<std::string, Oid> Advertised(git_remote* remote) {
  const git_remote_head** heads = nullptr;
  size_t n = 0;
  std::map<std::string, Oid> out;
  if (git_remote_ls(&heads, &n, remote) != 0) return out;
  for (size_t i = 0; i < n; ++i) {
    std::string name = heads[i]->name;
    if (name.size() > 3 && name.compare(name.size() - 3, 3, "^{}") == 0) continue;
    out[name] = FromRaw(&heads[i]->oid);
  }
  return out;
}

Result<FetchResult> FetchInto(git_repository* repo, const std::string& name,
                              const TransferOptions& options) {
  PrepareNetwork();
  Transfer t(options);
  CFGIT_ASSIGN_OR_RETURN(git::Remote remote, OpenRemote(repo, name, &t));
  FetchResult result;
  result.remote = name;
  result.url = t.shown_url;
  git_remote_connect_options connect = GIT_REMOTE_CONNECT_OPTIONS_INIT;
  connect.callbacks = Callbacks(&t);
  if (int rc = git_remote_connect_ext(remote.get(), GIT_DIRECTION_FETCH, &connect)) {
    return NetError(rc, "cannot fetch from " + name + " (" + t.shown_url + ")", t);
  }
  std::map<std::string, Oid> advertised = Advertised(remote.get());
  git_buf head = GIT_BUF_INIT;
  if (git_remote_default_branch(&head, remote.get()) == 0 && StartsWith(head.ptr, "refs/heads/")) {
    result.head_branch = std::string(head.ptr).substr(11);
  }
  git_buf_dispose(&head);
  git_fetch_options fetch = GIT_FETCH_OPTIONS_INIT;
  fetch.callbacks = Callbacks(&t);
  fetch.download_tags = GIT_REMOTE_DOWNLOAD_TAGS_NONE;  // the tag refspec below fetches them
  fetch.prune = GIT_FETCH_NO_PRUNE;
  fetch.update_fetchhead = 0;
  std::string heads_spec = "+refs/heads/*:refs/remotes/" + name + "/*";
  std::string tags_spec = "refs/tags/*:refs/tags/*";
  char* specs[] = {heads_spec.data(), tags_spec.data()};
  git_strarray spec_array = {specs, 2};
  if (int rc = git_remote_download(remote.get(), &spec_array, &fetch)) {
    return NetError(rc, "cannot fetch from " + name + " (" + t.shown_url + ")", t);
  }
  const git_indexer_progress* stats = git_remote_stats(remote.get());
  result.objects = stats->received_objects;
  result.bytes = stats->received_bytes;
  git_remote_disconnect(remote.get());

  // The tips, moved here rather than by libgit2 so that tags never move and gone branches go.
  const std::string tracking = "refs/remotes/" + name + "/";
  CFGIT_ASSIGN_OR_RETURN(auto before, RefsUnder(repo, tracking));
  const std::string log = "fetch " + name;
  for (const auto& [ref, id] : advertised) {
    if (StartsWith(ref, "refs/heads/")) {
      std::string local = tracking + ref.substr(11);
      auto was = before.find(local);
      std::optional<Oid> from;
      if (was != before.end()) {
        from = was->second;
        before.erase(was);
        if (*from == id) continue;
      }
      CFGIT_RETURN_IF_ERROR(SetRef(repo, local, id, true, log));
      result.updates.push_back({local, from, id, ""});
    } else if (StartsWith(ref, "refs/tags/")) {
      std::optional<Oid> here = RefTarget(repo, ref);
      if (here && *here == id) continue;
      if (here) {
        result.updates.push_back({ref, here, id,
                                  "kept: " + name +
                                      " has this tag on another object, and tags "
                                      "never move (delete it here with cfgit tag -d to take " +
                                      name + "'s)"});
        continue;
      }
      CFGIT_RETURN_IF_ERROR(SetRef(repo, ref, id, false, log));
      result.updates.push_back({ref, std::nullopt, id, ""});
    }
  }
  for (const auto& [ref, id] : before) {  // branches the remote no longer has
    if (ref == tracking + "HEAD") continue;
    git_reference* r = nullptr;
    if (git_reference_lookup(&r, repo, ref.c_str()) == 0) {
      git::Reference holder(r);
      if (int rc = git_reference_delete(r)) return git::Error(rc, "deleting " + ref);
    }
    result.updates.push_back({ref, id, std::nullopt, ""});
  }
  std::sort(result.updates.begin(), result.updates.end(),
            [](const RefUpdate& a, const RefUpdate& b) { return a.ref < b.ref; });
  return result;
}

// What pushing `local` over the remote's `remote` does for one ref (store/remote.h, Push).
PushedRef PlanPush(git_repository* repo, const std::string& ref, const Oid& local,
                   const std::optional<Oid>& remote, const std::optional<Oid>& tracking, bool named,
                   bool force, const std::string& name) {
  PushedRef p;
  p.ref = ref;
  p.local = local;
  p.remote_before = remote;
  if (remote && *remote == local) return p;  // up to date
  p.outcome = PushedRef::Outcome::kPushed;
  if (!remote || force) return p;
  const bool tag = StartsWith(ref, "refs/tags/");
  git_odb* odb = nullptr;
  bool have = git_repository_odb(&odb, repo) == 0 && git_odb_exists(odb, Raw(*remote)) == 1;
  git_odb_free(odb);
  if (!tag && have && git_graph_descendant_of(repo, Raw(local), Raw(*remote)) == 1) return p;
  bool behind = (have && git_graph_descendant_of(repo, Raw(*remote), Raw(local)) == 1) ||
                (tracking && *tracking == local);
  if (!tag && behind && !named) {
    p.outcome = PushedRef::Outcome::kBehind;
    p.reason = name + " has newer commits; bring them in with: cfgit pull " + name;
    return p;
  }
  p.outcome = PushedRef::Outcome::kRejected;
  if (tag) {
    p.reason = "the tag on " + name +
               " points at another object and tags never move; push --force replaces it";
  } else {
    p.reason = name + " has commits on it that yours does not have (someone pushed meanwhile): " +
               "run cfgit pull " + name + " first, then push again (push --force would " +
               "overwrite them)";
  }
  return p;
}

}  // namespace

std::string RedactRemoteUrl(const std::string& url) {
  std::optional<UrlParts> p = ParseUrl(url);
  if (!p || !p->has_userinfo) return url;
  std::string user = IsHttp(*p) ? "***" : p->user + (p->password.empty() ? "" : ":***");
  return url.substr(0, p->scheme.size() + 3) + user + "@" + url.substr(p->host_at);
}

Result<std::vector<RemoteConfig>> ListRemotes(const Store& store) {
  CFGIT_ASSIGN_OR_RETURN(git::Repository repo, git::OpenBare(store.path()));
  CFGIT_ASSIGN_OR_RETURN(git::Config cfg, RepoConfig(repo.get()));
  git_config_iterator* it = nullptr;
  if (int rc = git_config_iterator_new(&it, cfg.get())) {
    return git::Error(rc, "reading .cfgit/config");
  }
  std::vector<RemoteConfig> out;
  git_config_entry* entry = nullptr;
  while (git_config_next(&entry, it) == 0) {
    std::string key = entry->name;  // remote.NAME.url (NAME may hold dots)
    if (key.size() <= 11 || !StartsWith(key, "remote.") ||
        key.compare(key.size() - 4, 4, ".url") != 0) {
      continue;
    }
    std::string name = key.substr(7, key.size() - 11);
    auto same = [&name](const RemoteConfig& r) { return r.name == name; };
    auto found = std::find_if(out.begin(), out.end(), same);
    if (found == out.end()) {
      out.push_back({name, entry->value ? entry->value : ""});
    } else {
      found->url = entry->value ? entry->value : "";  // the more specific level wins
    }
  }
  git_config_iterator_free(it);
  std::sort(out.begin(), out.end(),
            [](const RemoteConfig& a, const RemoteConfig& b) { return a.name < b.name; });
  return out;
}

Status AddRemote(const Store& store, const RemoteConfig& remote) {
  if (remote.url.empty()) return Status::Usage("the URL of remote '" + remote.name + "' is empty");
  CFGIT_ASSIGN_OR_RETURN(git::Repository repo, git::OpenBare(store.path()));
  CFGIT_ASSIGN_OR_RETURN(std::optional<std::string> existing,
                         ConfiguredUrl(repo.get(), remote.name));
  if (existing) {
    return Status::Usage("remote '" + remote.name +
                         "' already exists; remove it first with: cfgit remote remove " +
                         remote.name);
  }
  CFGIT_ASSIGN_OR_RETURN(git::Config cfg, RepoConfig(repo.get()));
  const std::string section = "remote." + remote.name;
  const std::string fetch = "+refs/heads/*:refs/remotes/" + remote.name + "/*";
  int rc = git_config_set_string(cfg.get(), (section + ".url").c_str(), remote.url.c_str());
  if (rc == 0) rc = git_config_set_string(cfg.get(), (section + ".fetch").c_str(), fetch.c_str());
  if (rc) return git::Error(rc, "adding remote " + remote.name + " to .cfgit/config");
  return Status::Ok();
}

Status RemoveRemote(const Store& store, const std::string& name) {
  CFGIT_ASSIGN_OR_RETURN(git::Repository repo, git::OpenBare(store.path()));
  CFGIT_ASSIGN_OR_RETURN(std::optional<std::string> existing, ConfiguredUrl(repo.get(), name));
  if (!existing) {
    return Status::Usage("there is no remote '" + name + "' (cfgit remote list shows them)");
  }
  CFGIT_ASSIGN_OR_RETURN(git::Config all, RepoConfig(repo.get()));
  git_config* local_raw = nullptr;
  if (int rc = git_config_open_level(&local_raw, all.get(), GIT_CONFIG_LEVEL_LOCAL)) {
    return git::Error(rc, "reading .cfgit/config");
  }
  git::Config local(local_raw);
  std::vector<std::string> keys;
  git_config_iterator* it = nullptr;
  if (int rc = git_config_iterator_new(&it, local.get())) {
    return git::Error(rc, "reading .cfgit/config");
  }
  git_config_entry* entry = nullptr;
  const std::string prefix = "remote." + name + ".";
  while (git_config_next(&entry, it) == 0) {
    if (StartsWith(entry->name, prefix)) keys.push_back(entry->name);
  }
  git_config_iterator_free(it);
  std::sort(keys.begin(), keys.end());
  keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
  for (const std::string& key : keys) {
    int rc = git_config_delete_entry(local.get(), key.c_str());
    if (rc) rc = git_config_delete_multivar(local.get(), key.c_str(), ".*");  // several values
    if (rc) return git::Error(rc, "removing " + key + " from .cfgit/config");
  }
  CFGIT_ASSIGN_OR_RETURN(auto tracking, RefsUnder(repo.get(), "refs/remotes/" + name + "/"));
  for (const auto& [ref, id] : tracking) {
    git_reference* r = nullptr;
    if (git_reference_lookup(&r, repo.get(), ref.c_str()) != 0) continue;
    git::Reference holder(r);
    if (int rc = git_reference_delete(r)) return git::Error(rc, "deleting " + ref);
  }
  return Status::Ok();
}

Result<FetchResult> Fetch(Store& store, const std::string& remote, const TransferOptions& options) {
  CFGIT_ASSIGN_OR_RETURN(git::Repository repo, git::OpenBare(store.path()));
  return FetchInto(repo.get(), remote, options);
}

Result<FetchResult> CloneFrom(Store& store, const std::string& url,
                              const TransferOptions& options) {
  CFGIT_RETURN_IF_ERROR(AddRemote(store, {"origin", url}));
  CFGIT_ASSIGN_OR_RETURN(git::Repository repo, git::OpenBare(store.path()));
  CFGIT_ASSIGN_OR_RETURN(FetchResult fetched, FetchInto(repo.get(), "origin", options));
  const std::string tracking = "refs/remotes/origin/";
  std::string head;
  for (const RefUpdate& u : fetched.updates) {
    if (!u.to || !StartsWith(u.ref, tracking)) continue;
    std::string branch = u.ref.substr(tracking.size());
    CFGIT_RETURN_IF_ERROR(
        SetRef(repo.get(), "refs/heads/" + branch, *u.to, false, "clone: from origin"));
    if (head.empty() || branch == fetched.head_branch) head = branch;
  }
  if (!head.empty()) {
    if (int rc = git_repository_set_head(repo.get(), ("refs/heads/" + head).c_str())) {
      return git::Error(rc, "pointing HEAD at " + head);
    }
  }
  return fetched;
}

Result<PushResult> Push(Store& store, const PushRequest& request, const TransferOptions& options) {
  PrepareNetwork();
  CFGIT_ASSIGN_OR_RETURN(git::Repository repo, git::OpenBare(store.path()));
  Transfer t(options);
  CFGIT_ASSIGN_OR_RETURN(git::Remote remote, OpenRemote(repo.get(), request.remote, &t));
  PushResult result;
  result.remote = request.remote;
  result.url = t.shown_url;

  std::map<std::string, Oid> local;
  if (request.refs.empty()) {
    CFGIT_ASSIGN_OR_RETURN(local, RefsUnder(repo.get(), "refs/heads/"));
    CFGIT_ASSIGN_OR_RETURN(auto tags, RefsUnder(repo.get(), "refs/tags/"));
    local.insert(tags.begin(), tags.end());
  } else {
    for (const std::string& ref : request.refs) {
      std::optional<Oid> id = RefTarget(repo.get(), ref);
      if (!id) return Status::Usage("there is no " + ref + " in this store to push");
      local[ref] = *id;
    }
  }

  git_remote_connect_options connect = GIT_REMOTE_CONNECT_OPTIONS_INIT;
  connect.callbacks = Callbacks(&t);
  if (int rc = git_remote_connect_ext(remote.get(), GIT_DIRECTION_PUSH, &connect)) {
    return NetError(rc, "cannot push to " + request.remote + " (" + t.shown_url + ")", t);
  }
  std::map<std::string, Oid> advertised = Advertised(remote.get());
  std::vector<std::string> specs;
  for (const auto& [ref, id] : local) {
    std::optional<Oid> theirs, tracking;
    if (auto it = advertised.find(ref); it != advertised.end()) theirs = it->second;
    if (StartsWith(ref, "refs/heads/")) {
      tracking = RefTarget(repo.get(), "refs/remotes/" + request.remote + "/" + ref.substr(11));
    }
    PushedRef planned = PlanPush(repo.get(), ref, id, theirs, tracking, !request.refs.empty(),
                                 request.force, request.remote);
    if (planned.outcome == PushedRef::Outcome::kPushed) {
      specs.push_back((request.force ? "+" : "") + ref + ":" + ref);
    }
    result.refs.push_back(std::move(planned));
  }
  if (!specs.empty()) {
    std::vector<char*> raw;
    raw.reserve(specs.size());
    for (std::string& s : specs) raw.push_back(s.data());
    git_strarray spec_array = {raw.data(), raw.size()};
    git_push_options push = GIT_PUSH_OPTIONS_INIT;
    push.callbacks = Callbacks(&t);
    int rc = git_remote_upload(remote.get(), &spec_array, &push);
    if (rc == GIT_ENONFASTFORWARD) {
      // The remote moved between listing its refs and sending (libgit2's own check).
      for (PushedRef& p : result.refs) {
        if (p.outcome != PushedRef::Outcome::kPushed) continue;
        p.outcome = PushedRef::Outcome::kRejected;
        p.reason = request.remote + " changed while pushing: run cfgit pull " + request.remote +
                   " first, then push again";
      }
    } else if (rc) {
      return NetError(rc, "cannot push to " + request.remote + " (" + t.shown_url + ")", t);
    } else {
      for (PushedRef& p : result.refs) {
        auto it = t.refused.find(p.ref);
        if (p.outcome != PushedRef::Outcome::kPushed || it == t.refused.end()) continue;
        p.outcome = PushedRef::Outcome::kRejected;
        p.reason = request.remote + " refused it (" + t.Scrub(it->second) + "): run cfgit pull " +
                   request.remote + " first, then push again";
      }
      // Pushed branches move refs/remotes/REMOTE/*.
      for (const PushedRef& p : result.refs) {
        if (p.outcome != PushedRef::Outcome::kPushed || !StartsWith(p.ref, "refs/heads/")) continue;
        CFGIT_RETURN_IF_ERROR(SetRef(repo.get(),
                                     "refs/remotes/" + request.remote + "/" + p.ref.substr(11),
                                     p.local, true, "push " + request.remote));
      }
    }
  }
  git_remote_disconnect(remote.get());
  result.objects = t.progress.upload ? t.progress.objects : 0;
  return result;
}

}  // namespace cfgit
