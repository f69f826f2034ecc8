// The GSSAPI functions libgit2 calls, loaded from MIT Kerberos' libgssapi_krb5 on first use.
//
// Debian's libgit2 uses GSSAPI for HTTP Negotiate (Kerberos) authentication, and only when a
// server asks for it. Linked as a shared library, GSSAPI and what it needs (Kerberos, its crypto,
// com_err, keyutils, resolv: seven libraries) were loaded and bound at the start of every
// command. Here the first call opens the library (dlopen) and each call goes on to the function
// of the same name there (docs/performance.md, round 17). When the library cannot be opened,
// every call fails with GSS_S_UNAVAILABLE, and gss_display_status gives the reason, which
// libgit2 puts in its error.
//
// Built as its own archive (CMakeLists.txt, cfgit_gssapi): the programs export no archive's
// symbols, so the library's calls to its own functions stay inside it.
#include "store/internal/gssapi.h"

#include <dlfcn.h>
#include <gssapi/gssapi.h>

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

}  // namespace cfgit

extern "C" {

gss_OID GSS_C_NT_HOSTBASED_SERVICE = &cfgit::host_based_service;

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

// Without the library, the text is the reason it could not be opened, in a buffer of cfgit's:
// without the library every buffer a caller holds is one of these, and gss_release_buffer frees
// it.
OM_uint32 gss_display_status(OM_uint32* minor, OM_uint32 status, int type, gss_OID mech,
                             OM_uint32* context, gss_buffer_t text) {
  static const auto real = cfgit::Function<decltype(&gss_display_status)>("gss_display_status");
  if (real) return real(minor, status, type, mech, context, text);
  if (!text) return cfgit::Unavailable(minor);
  const std::string& why = cfgit::Library().error;
  auto* own = static_cast<char*>(std::malloc(why.size() + 1));
  if (!own) return cfgit::Unavailable(minor);
  std::memcpy(own, why.c_str(), why.size() + 1);
  text->length = why.size();
  text->value = own;
  if (context) *context = 0;
  if (minor) *minor = 0;
  return GSS_S_COMPLETE;
}

OM_uint32 gss_release_buffer(OM_uint32* minor, gss_buffer_t buffer) {
  static const auto real = cfgit::Function<decltype(&gss_release_buffer)>("gss_release_buffer");
  if (real) return real(minor, buffer);
  if (!buffer || !buffer->value) return cfgit::Unavailable(minor);
  std::free(buffer->value);
  buffer->value = nullptr;
  buffer->length = 0;
  if (minor) *minor = 0;
  return GSS_S_COMPLETE;
}

}  // extern "C"
