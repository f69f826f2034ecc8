// The GSSAPI functions libgit2 calls, loaded from MIT Kerberos' libgssapi_krb5 on first use.
//
// Debian's libgit2 calls GSSAPI for HTTP Negotiate (Kerberos) authentication only, which it
// tries only with default credentials; cfgit offers none (store/remote.cc: ssh-agent, user names,
// user and password), so no command of cfgit's reaches these functions today. Linked as a shared
// library, GSSAPI and what it needs (Kerberos, its crypto and support libraries, com_err,
// keyutils, resolv: seven libraries) were loaded and bound at the start of every command
// nonetheless. Here the first call opens the library (dlopen) and each call goes on to the
// function of the same name there (docs/performance.md, round 17). When the library cannot be
// opened, every call fails with GSS_S_UNAVAILABLE, and gss_display_status gives the reason,
// which libgit2 puts in its error.
//
// Built as its own archive with hidden symbols (CMakeLists.txt, cfgit_gssapi): no program
// exports these names, so the library's calls to its own functions stay inside it.
#include "store/internal/gssapi.h"

#include <dlfcn.h>

#include <cstdlib>
#include <cstring>

namespace cfgit {
namespace {

struct Gssapi {
  void* handle = nullptr;
  std::string error;  // why it could not be opened
};

const Gssapi& Library() {
  static const Gssapi library = [] {
    Gssapi g;
    Result<void*> opened = OpenGssapi(kGssapiLibrary);
    if (opened.ok()) {
      g.handle = *opened;
    } else {
      g.error = opened.status().message();
    }
    return g;
  }();
  return library;
}

// The library's function `name`, of the type of `F`; nullptr when the library or the function is
// missing.
template <typename F>
F Function(const char* name) {
  const Gssapi& g = Library();
  return g.handle ? reinterpret_cast<F>(::dlsym(g.handle, name)) : nullptr;
}

OM_uint32 Unavailable(OM_uint32* minor) {
  if (minor) *minor = 0;
  return GSS_S_UNAVAILABLE;
}

// The name type libgit2 passes to gss_import_name, GSS_C_NT_HOSTBASED_SERVICE (RFC 2744, 4:
// 1.2.840.113554.1.2.1.4); the library compares name types by value.
char host_based_service_oid[] = "\x2a\x86\x48\x86\xf7\x12\x01\x02\x01\x04";
gss_OID_desc host_based_service = {10, host_based_service_oid};

}  // namespace

Result<void*> OpenGssapi(const char* library) {
  void* handle = ::dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* why = ::dlerror();
    return Status::Invalid(std::string("GSSAPI (Negotiate authentication) is unavailable: ") +
                           (why ? why : library) +
                           "; install libgssapi-krb5-2 (scripts/deps.sh installs it)");
  }
  return handle;
}

OM_uint32 DescribeUnavailable(const std::string& why, OM_uint32* minor, OM_uint32* context,
                              gss_buffer_t text) {
  if (minor) *minor = 0;
  if (context) *context = 0;  // one message: the caller asks no more
  if (!text) return GSS_S_CALL_INACCESSIBLE_WRITE;
  text->length = 0;
  text->value = nullptr;
  auto* own = static_cast<char*>(std::malloc(why.size() + 1));
  if (!own) return GSS_S_FAILURE;
  std::memcpy(own, why.c_str(), why.size() + 1);
  text->length = why.size();
  text->value = own;
  return GSS_S_COMPLETE;
}

OM_uint32 ReleaseUnavailableText(OM_uint32* minor, gss_buffer_t buffer) {
  if (minor) *minor = 0;
  if (buffer) {
    std::free(buffer->value);
    buffer->value = nullptr;
    buffer->length = 0;
  }
  return GSS_S_COMPLETE;
}

}  // namespace cfgit

extern "C" {

gss_OID GSS_C_NT_HOSTBASED_SERVICE = &cfgit::host_based_service;

// Each function goes on to the library's; without it, GSS_S_UNAVAILABLE (the output arguments
// left as the caller set them: libgit2 reads none of them after a failure).
#define CFGIT_GSS_FORWARD(name, params, args)                         \
  OM_uint32 name params {                                             \
    static const auto real = cfgit::Function<decltype(&name)>(#name); \
    return real ? real args : cfgit::Unavailable(minor);              \
  }

CFGIT_GSS_FORWARD(gss_indicate_mechs, (OM_uint32 * minor, gss_OID_set* mechs), (minor, mechs))
CFGIT_GSS_FORWARD(gss_import_name,
                  (OM_uint32 * minor, gss_buffer_t name, gss_OID type, gss_name_t* out),
                  (minor, name, type, out))
CFGIT_GSS_FORWARD(gss_init_sec_context,
                  (OM_uint32 * minor, gss_cred_id_t cred, gss_ctx_id_t* context, gss_name_t target,
                   gss_OID mech, OM_uint32 flags, OM_uint32 time, gss_channel_bindings_t bindings,
                   gss_buffer_t input, gss_OID* actual_mech, gss_buffer_t output,
                   OM_uint32* ret_flags, OM_uint32* time_rec),
                  (minor, cred, context, target, mech, flags, time, bindings, input, actual_mech,
                   output, ret_flags, time_rec))
CFGIT_GSS_FORWARD(gss_delete_sec_context,
                  (OM_uint32 * minor, gss_ctx_id_t* context, gss_buffer_t output),
                  (minor, context, output))
CFGIT_GSS_FORWARD(gss_release_name, (OM_uint32 * minor, gss_name_t* name), (minor, name))
CFGIT_GSS_FORWARD(gss_release_oid_set, (OM_uint32 * minor, gss_OID_set* set), (minor, set))

#undef CFGIT_GSS_FORWARD

// The library's gss_display_status; nullptr: the texts are cfgit's (DescribeUnavailable).
static decltype(&gss_display_status) LibraryDisplayStatus() {
  static const auto real = cfgit::Function<decltype(&gss_display_status)>("gss_display_status");
  return real;
}

OM_uint32 gss_display_status(OM_uint32* minor, OM_uint32 status, int type, gss_OID mech,
                             OM_uint32* context, gss_buffer_t text) {
  if (auto real = LibraryDisplayStatus()) return real(minor, status, type, mech, context, text);
  const std::string& why = cfgit::Library().error;
  return cfgit::DescribeUnavailable(
      why.empty() ? std::string(cfgit::kGssapiLibrary) + " has no gss_display_status" : why, minor,
      context, text);
}

// Without the library's gss_display_status, every buffer a caller holds is cfgit's.
OM_uint32 gss_release_buffer(OM_uint32* minor, gss_buffer_t buffer) {
  if (!LibraryDisplayStatus()) return cfgit::ReleaseUnavailableText(minor, buffer);
  static const auto real = cfgit::Function<decltype(&gss_release_buffer)>("gss_release_buffer");
  return real ? real(minor, buffer) : cfgit::Unavailable(minor);
}

}  // extern "C"
