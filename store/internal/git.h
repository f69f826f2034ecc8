// libgit2 handles in unique_ptr with their free functions, and the one function that turns a
// libgit2 error code into a Status. Included only by store/*.cc (and the store's tests).
#pragma once

#include <git2.h>
#include <git2/sys/odb_backend.h>
#include <git2/sys/repository.h>

#include <memory>
#include <string>

#include "store/status.h"

namespace cfgit::git {

template <typename T, void (*Free)(T*)>
struct Deleter {
  void operator()(T* p) const { Free(p); }
};
template <typename T, void (*Free)(T*)>
using Ptr = std::unique_ptr<T, Deleter<T, Free>>;

using Repository = Ptr<git_repository, git_repository_free>;
using Odb = Ptr<git_odb, git_odb_free>;
using OdbObject = Ptr<git_odb_object, git_odb_object_free>;
using Object = Ptr<git_object, git_object_free>;
using Commit = Ptr<git_commit, git_commit_free>;
using Tree = Ptr<git_tree, git_tree_free>;
using Blob = Ptr<git_blob, git_blob_free>;
using Reference = Ptr<git_reference, git_reference_free>;
using RefIterator = Ptr<git_reference_iterator, git_reference_iterator_free>;
using Revwalk = Ptr<git_revwalk, git_revwalk_free>;
using Signature = Ptr<git_signature, git_signature_free>;
using Config = Ptr<git_config, git_config_free>;
using Tag = Ptr<git_tag, git_tag_free>;
using PackBuilder = Ptr<git_packbuilder, git_packbuilder_free>;
using Remote = Ptr<git_remote, git_remote_free>;
using Indexer = Ptr<git_indexer, git_indexer_free>;
using Credential = Ptr<git_credential, git_credential_free>;

// `what` says what was being done ("reading commit 3fa0c1"); the libgit2 message is appended
// when there is one (git_error_last() may be NULL).
Status Error(int code, const std::string& what);

// The times libgit2's start asked mbedTLS to parse the system's certificate authorities and was
// let off (store/repo.cc: cfgit sets them before it connects). For the store's tests.
size_t CertificateLoadsDeferred();

// Sets the certificate authorities https trusts (GIT_OPT_SET_SSL_CERT_LOCATIONS; either may be
// null). Where they cannot be loaded (or none is given), loads what libgit2's start asked for
// and was let off, so https trusts what it did before cfgit skipped that. False: nothing loaded.
bool LoadCertificateAuthorities(const char* file, const char* dir);

// A second handle on the bare repository at `path` (store/remote.cc, store/bundle.cc): refs and
// packs written through it are seen by the Store's own handle.
Result<Repository> OpenBare(const std::string& path);

}  // namespace cfgit::git
