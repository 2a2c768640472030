// Legate's only native code: reads the original destination of a connection that iptables
// REDIRECTed to the proxy (getsockopt SO_ORIGINAL_DST / IP6T_SO_ORIGINAL_DST), and sets
// IP_TRANSPARENT / IPV6_TRANSPARENT on a listening socket for TPROXY. Node's net module exposes
// neither. Built with g++ by scripts/build-native.js; loaded by src/listener/original-dst.ts.
#include <node_api.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80  // linux/netfilter_ipv4.h
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80  // linux/netfilter_ipv6/ip6_tables.h
#endif
#ifndef IP_TRANSPARENT
#define IP_TRANSPARENT 19
#endif
#ifndef IPV6_TRANSPARENT
#define IPV6_TRANSPARENT 75
#endif

namespace {

bool ReadInt(napi_env env, napi_value v, int32_t* out) {
  return napi_get_value_int32(env, v, out) == napi_ok;
}

napi_value ThrowErrno(napi_env env, const char* what, int err) {
  char msg[160];
  snprintf(msg, sizeof msg, "%s: %s", what, strerror(err));
  char code[16];
  snprintf(code, sizeof code, "%d", err);
  napi_throw_error(env, code, msg);
  return nullptr;
}

// Reads the (fd, family) arguments both functions take; throws `usage` as a TypeError if they are bad.
bool ReadFdAndFamily(napi_env env, napi_callback_info info, const char* usage, int32_t* fd, int32_t* family) {
  size_t argc = 2;
  napi_value argv[2];
  napi_get_cb_info(env, info, &argc, argv, nullptr, nullptr);
  *fd = -1;
  *family = 4;
  if (argc < 2 || !ReadInt(env, argv[0], fd) || !ReadInt(env, argv[1], family) || *fd < 0) {
    napi_throw_type_error(env, nullptr, usage);
    return false;
  }
  return true;
}

// originalDst(fd, family) -> [address, port] | null (null: the connection was not redirected).
napi_value OriginalDst(napi_env env, napi_callback_info info) {
  int32_t fd, family;
  if (!ReadFdAndFamily(env, info, "originalDst(fd, family): fd must be a non-negative integer and family 4 or 6", &fd, &family)) return nullptr;
  sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t len = sizeof ss;
  int rc = family == 6 ? getsockopt(fd, SOL_IPV6, IP6T_SO_ORIGINAL_DST, &ss, &len)
                       : getsockopt(fd, SOL_IP, SO_ORIGINAL_DST, &ss, &len);
  napi_value result;
  if (rc != 0) {
    // ENOENT: no NAT entry (not redirected); ENOPROTOOPT: no conntrack for this family.
    if (errno == ENOENT || errno == ENOPROTOOPT || errno == ENOTCONN) {
      napi_get_null(env, &result);
      return result;
    }
    return ThrowErrno(env, "getsockopt(SO_ORIGINAL_DST)", errno);
  }
  char text[INET6_ADDRSTRLEN] = {0};
  int port = 0;
  if (ss.ss_family == AF_INET) {
    const sockaddr_in* a = reinterpret_cast<const sockaddr_in*>(&ss);
    inet_ntop(AF_INET, &a->sin_addr, text, sizeof text);
    port = ntohs(a->sin_port);
  } else if (ss.ss_family == AF_INET6) {
    const sockaddr_in6* a = reinterpret_cast<const sockaddr_in6*>(&ss);
    inet_ntop(AF_INET6, &a->sin6_addr, text, sizeof text);
    port = ntohs(a->sin6_port);
  } else {
    napi_get_null(env, &result);
    return result;
  }
  napi_value addr, portValue;
  napi_create_array_with_length(env, 2, &result);
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &addr);
  napi_create_int32(env, port, &portValue);
  napi_set_element(env, result, 0, addr);
  napi_set_element(env, result, 1, portValue);
  return result;
}

// setTransparent(fd, family): IP_TRANSPARENT (or IPV6_TRANSPARENT) on, for TPROXY listeners.
napi_value SetTransparent(napi_env env, napi_callback_info info) {
  int32_t fd, family;
  if (!ReadFdAndFamily(env, info, "setTransparent(fd, family): fd must be a non-negative integer and family 4 or 6", &fd, &family)) return nullptr;
  int on = 1;
  int rc = family == 6 ? setsockopt(fd, SOL_IPV6, IPV6_TRANSPARENT, &on, sizeof on)
                       : setsockopt(fd, SOL_IP, IP_TRANSPARENT, &on, sizeof on);
  if (rc != 0) return ThrowErrno(env, "setsockopt(IP_TRANSPARENT)", errno);
  napi_value undef;
  napi_get_undefined(env, &undef);
  return undef;
}

napi_value Init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"originalDst", nullptr, OriginalDst, nullptr, nullptr, nullptr, napi_default, nullptr},
      {"setTransparent", nullptr, SetTransparent, nullptr, nullptr, nullptr, napi_default, nullptr},
  };
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

}  // namespace

NAPI_MODULE(NODE_GYP_MODULE_NAME, Init)
