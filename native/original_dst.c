/*
 * getOriginalDst(fd) -> { address, port }: the destination a TCP connection had before an
 * iptables REDIRECT (or DNAT) rewrote it, read from conntrack with SO_ORIGINAL_DST.
 * Node has no API for this socket option, hence this addon. Plain Node-API in C, so it
 * builds against any Node >= 20 without extra dependencies and needs no rebuild per version.
 */
#include <node_api.h>

#ifdef __linux__
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#endif

#include <stdio.h>

/* From <linux/netfilter_ipv4.h> and <linux/netfilter_ipv6/ip6_tables.h>; defined here because
 * those kernel headers clash with the libc ones on some distributions. */
#ifndef SO_ORIGINAL_DST
#define SO_ORIGINAL_DST 80
#endif
#ifndef IP6T_SO_ORIGINAL_DST
#define IP6T_SO_ORIGINAL_DST 80
#endif

#define CHECK(env, call)                                                    \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error((env), "ERR_NODEMESH_NAPI", "Node-API call failed"); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

#ifdef __linux__
static const char *errno_code(int err) {
  switch (err) {
    case ENOENT: return "ENOENT";
    case EBADF: return "EBADF";
    case ENOTSOCK: return "ENOTSOCK";
    case ENOPROTOOPT: return "ENOPROTOOPT";
    case EINVAL: return "EINVAL";
    case EPERM: return "EPERM";
    case EAFNOSUPPORT: return "EAFNOSUPPORT";
    case ENOTCONN: return "ENOTCONN";
    default: return "EUNKNOWN";
  }
}

/* Throws an Error whose message carries the errno text and whose .code is the errno name. */
static napi_value throw_errno(napi_env env, const char *what, int err) {
  char msg[256];
  snprintf(msg, sizeof msg, "%s: %s (%s)", what, strerror(err), errno_code(err));
  napi_throw_error(env, errno_code(err), msg);
  return NULL;
}

static napi_value make_result(napi_env env, const char *address, unsigned port) {
  napi_value obj, addr, prt;
  CHECK(env, napi_create_object(env, &obj));
  CHECK(env, napi_create_string_utf8(env, address, NAPI_AUTO_LENGTH, &addr));
  CHECK(env, napi_create_uint32(env, port, &prt));
  CHECK(env, napi_set_named_property(env, obj, "address", addr));
  CHECK(env, napi_set_named_property(env, obj, "port", prt));
  return obj;
}

/* Asks the kernel for the pre-REDIRECT destination with the option of `family` (IPv4 or IPv6). */
static napi_value original_dst(napi_env env, int fd, int family) {
  struct sockaddr_storage dst;
  memset(&dst, 0, sizeof dst);
  int v4 = family == AF_INET;
  /* The exact size of the family's address, as older kernels insist on. */
  socklen_t len = v4 ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
  if (getsockopt(fd, v4 ? SOL_IP : SOL_IPV6, v4 ? SO_ORIGINAL_DST : IP6T_SO_ORIGINAL_DST, &dst, &len) != 0) {
    return throw_errno(env, v4 ? "getsockopt(SO_ORIGINAL_DST)" : "getsockopt(IP6T_SO_ORIGINAL_DST)", errno);
  }
  const struct sockaddr_in *d4 = (const struct sockaddr_in *)&dst;
  const struct sockaddr_in6 *d6 = (const struct sockaddr_in6 *)&dst;
  char text[INET6_ADDRSTRLEN];
  if (inet_ntop(family, v4 ? (const void *)&d4->sin_addr : (const void *)&d6->sin6_addr, text, sizeof text) == NULL) {
    return throw_errno(env, "inet_ntop", errno);
  }
  return make_result(env, text, ntohs(v4 ? d4->sin_port : d6->sin6_port));
}
#endif

static napi_value get_original_dst(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  napi_valuetype type = napi_undefined;
  if (argc >= 1) CHECK(env, napi_typeof(env, argv[0], &type));
  if (type != napi_number) {
    napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", "getOriginalDst(fd): fd must be a number");
    return NULL;
  }
  int64_t fd64;
  CHECK(env, napi_get_value_int64(env, argv[0], &fd64));
  if (fd64 < 0 || fd64 > 0x7fffffff) {
    napi_throw_range_error(env, "ERR_OUT_OF_RANGE", "getOriginalDst(fd): fd must be a non-negative integer");
    return NULL;
  }
#ifdef __linux__
  int fd = (int)fd64;
  /* The listening socket's family decides the option: an IPv6 socket carrying IPv4
   * (v4-mapped) connections is still answered by the IPv4 option, which Linux routes there. */
  struct sockaddr_storage local;
  socklen_t len = sizeof local;
  if (getsockname(fd, (struct sockaddr *)&local, &len) != 0) return throw_errno(env, "getsockname", errno);
  if (local.ss_family == AF_INET) return original_dst(env, fd, AF_INET);
  if (local.ss_family == AF_INET6) {
    const struct sockaddr_in6 *l6 = (const struct sockaddr_in6 *)&local;
    return original_dst(env, fd, IN6_IS_ADDR_V4MAPPED(&l6->sin6_addr) ? AF_INET : AF_INET6);
  }
  return throw_errno(env, "getOriginalDst: not an IP socket", EAFNOSUPPORT);
#else
  napi_throw_error(env, "ENOSYS", "getOriginalDst: SO_ORIGINAL_DST exists only on Linux");
  return NULL;
#endif
}

NAPI_MODULE_INIT(/* napi_env env, napi_value exports */) {
  napi_value fn;
  if (napi_create_function(env, "getOriginalDst", NAPI_AUTO_LENGTH, get_original_dst, NULL, &fn) != napi_ok) return NULL;
  if (napi_set_named_property(env, exports, "getOriginalDst", fn) != napi_ok) return NULL;
  return exports;
}
