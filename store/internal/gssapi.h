// GSSAPI loaded on first use (store/gssapi.cc). Included only by store/*.cc (and the store's
// tests).
#pragma once

#include <gssapi/gssapi.h>

#include <string>

#include "store/status.h"

namespace cfgit {

// The library cfgit's GSSAPI functions go on to: MIT Kerberos' (Debian's libgssapi-krb5-2).
inline constexpr const char* kGssapiLibrary = "libgssapi_krb5.so.2";

// Opens `library` (a dlopen name); kInvalid naming it and the package to install when it cannot
// be opened. The GSSAPI functions open kGssapiLibrary so, once per process, at their first call.
Result<void*> OpenGssapi(const char* library);

// What gss_display_status answers when the library or its function is missing: `why`, as the
// text of the status, in a buffer of cfgit's (then every buffer a caller holds is one of those),
// which ReleaseUnavailableText frees as gss_release_buffer would.
OM_uint32 DescribeUnavailable(const std::string& why, OM_uint32* minor, OM_uint32* context,
                              gss_buffer_t text);
OM_uint32 ReleaseUnavailableText(OM_uint32* minor, gss_buffer_t buffer);

}  // namespace cfgit
