// Sharing a store: Git remotes (clone, fetch, push) and bundle files (export, import).
//
// Remotes live in the store's Git configuration (remote.NAME.url and remote.NAME.fetch), exactly
// as Git keeps them: `git --git-dir=.cfgit remote -v` lists them and stock `git fetch` works on
// the store. A URL is kept as given; `${VAR}` in it is expanded from the process environment each
// time it is used, so tokens stay out of the store. Every URL in a message has its credentials
// removed (RedactRemoteUrl), and credentials never appear in a Status.
//
// Transfers go through libgit2: local paths, file://, git://, ssh:// and https://. Credentials,
// when the server asks: the URL's user and password, then CFGIT_GIT_USERNAME/CFGIT_GIT_PASSWORD,
// then `git credential fill` (when git is installed); ssh keys from ssh-agent. Each source is
// offered once, so a refused credential fails the command instead of looping.
//
// These functions open the store's repository by its path; refs they move are visible to the
// Store at once. Callers that change refs hold the workspace lock (Store::LockForWriting).
// Errors: kUsage for a remote or revision that does not exist; kNeedsAttention for a server that
// cannot be reached, refuses the login or answers with an error, and for a damaged bundle file
// (nothing is written then); kInvalid when the store itself cannot be read or written.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "store/status.h"
#include "store/store.h"

namespace cfgit {

// The URL with any password (and, for http/https, the whole user part, which may be a token)
// replaced by "***".
std::string RedactRemoteUrl(const std::string& url);

struct RemoteConfig {
  std::string name;
  std::string url;  // as configured: may hold ${VAR} and credentials; print RedactRemoteUrl(url)
};

Result<std::vector<RemoteConfig>> ListRemotes(const Store& store);
// Adds remote NAME with the fetch refspec Git uses (+refs/heads/*:refs/remotes/NAME/*).
// kUsage: invalid name, empty URL, or the remote exists.
Status AddRemote(const Store& store, const RemoteConfig& remote);
// Removes the remote and its remote-tracking refs (refs/remotes/NAME/*). kUsage if unknown.
Status RemoveRemote(const Store& store, const std::string& name);

// How far a transfer has got, for a progress line on a terminal.
struct TransferProgress {
  bool upload = false;  // pushing (objects sent) rather than fetching (objects received)
  size_t objects = 0, total_objects = 0;
  uint64_t bytes = 0;
};
struct TransferOptions {
  std::function<void(const TransferProgress&)> on_progress;  // empty: no progress reports
};

// One ref a fetch, clone or import moved (or left alone, with `note` saying why).
struct RefUpdate {
  std::string ref;              // the local ref: refs/remotes/origin/dev, refs/tags/v1
  std::optional<Oid> from, to;  // absent: did not exist / was deleted
  std::string note;             // non-empty: not moved, and why
};

struct FetchResult {
  std::string remote;
  std::string url;                 // redacted
  std::vector<RefUpdate> updates;  // refs that changed, in name order
  std::string head_branch;         // the remote's default branch ("dev"), "" when unknown
  size_t objects = 0;              // objects received
  uint64_t bytes = 0;
};

// Fetches every branch of REMOTE into refs/remotes/REMOTE/* (forced, as Git does; tracking refs
// of branches the remote no longer has are deleted) and its tags into refs/tags/* (a tag that
// exists here with another target is left as it is, with a note). Local branches do not move.
Result<FetchResult> Fetch(Store& store, const std::string& remote, const TransferOptions& options);

// Makes a freshly initialized store a clone of URL: remote "origin" = URL, a fetch, then a local
// branch for every remote branch, and HEAD on the remote's default branch.
Result<FetchResult> CloneFrom(Store& store, const std::string& url, const TransferOptions& options);

struct PushRequest {
  std::string remote = "origin";
  // Full ref names (refs/heads/dev, refs/tags/v1, refs/cfgit/...). Empty: every branch and tag
  // whose local value the remote does not have yet; refs/cfgit/* only when named here.
  std::vector<std::string> refs;
  bool force = false;  // overwrite what the remote has (a non-fast-forward, a moved tag)
};

struct PushedRef {
  enum class Outcome {
    kUpToDate,  // the remote has it already
    kPushed,
    kBehind,    // not pushed: the remote is ahead (only when not named; `pull` brings it in)
    kRejected,  // not pushed: it would overwrite commits on the remote (see `reason`)
  };
  std::string ref;
  Oid local;                         // what was (or would be) pushed
  std::optional<Oid> remote_before;  // the remote's value before the push
  Outcome outcome = Outcome::kUpToDate;
  std::string reason;  // for kRejected and kBehind
};

struct PushResult {
  std::string remote;
  std::string url;  // redacted
  std::vector<PushedRef> refs;
  size_t objects = 0;  // objects sent
};

// Pushes refs to REMOTE. A ref whose push would not be a fast-forward of the remote's (the
// remote has commits this store does not have, or a tag points elsewhere) is rejected, not
// pushed, unless `force`; the other refs are still pushed. The remote's own refusals (another
// push won a race) are rejections too. Pushed branches move refs/remotes/REMOTE/*.
Result<PushResult> Push(Store& store, const PushRequest& request, const TransferOptions& options);

// Bundle files ("release files"): Git bundles, version 2 (docs/store-format.md, section 11).
struct ExportRequest {
  std::string rev;    // a branch or tag name, a full ref, or any revision (an id, REV~N)
  std::string since;  // optional: leave out what this revision has (the receiver must have it)
  std::string path;   // the file to write (replaced atomically)
};
struct ExportResult {
  std::string ref;  // the ref name in the bundle
  Oid object;       // what the ref points at (an annotated tag's object, or the commit)
  Oid commit;
  std::vector<Oid> prerequisites;
  size_t commits = 0, objects = 0;
  uint64_t bytes = 0;  // of the file
};
Result<ExportResult> ExportBundle(Store& store, const ExportRequest& request);

struct ImportedRef {
  enum class Outcome {
    kCreated,      // a new branch or tag
    kFastForward,  // the local branch moved ahead to the bundle's commit
    kUpToDate,     // the local ref already had it (or contains it)
    kKeptAside,    // the local branch diverged: the bundle's commit is kept at `ref`
  };
  std::string bundle_ref;  // the ref name in the file
  std::string ref;         // the local ref written (or compared with)
  std::optional<Oid> before;
  Oid object;  // the bundle's value
  Oid commit;  // peeled
  Outcome outcome = Outcome::kUpToDate;
};
struct ImportResult {
  std::vector<ImportedRef> refs;
  std::vector<Oid> prerequisites;
  size_t objects = 0;
};
// Reads and checks the whole file (header, pack checksum, every object its refs need) before
// anything is written; a damaged, truncated or foreign file is refused (kNeedsAttention; kUsage
// when it is not a bundle at all), as is a tag that exists here with another target. Then the
// pack joins the store and refs are created or fast-forwarded; a diverged branch X is kept at
// refs/cfgit/imports/heads/X, other refs under refs/cfgit/imports/.
Result<ImportResult> ImportBundle(Store& store, const std::string& path);

}  // namespace cfgit
