// AF_UNIX SOCK_SEQPACKET sockets: listen, accept, connect (filesystem or exact-length abstract
// names), and non-blocking sendmsg/recvmsg carrying SCM_RIGHTS fds. The peer's credentials come
// from SO_PEERCRED (peerCredentials), not from messages.
// Every socket is non-blocking and close-on-exec. No retries and no protocol here.
#include <fcntl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "common.h"

namespace memif {
namespace {

// Builds a sockaddr_un. Abstract names get a leading NUL and no trailing NUL, and the exact
// length 2 + 1 + strlen(name), as VPP, libmemif and DPDK compute it.
bool MakeAddr(const std::string& name, bool abstract, sockaddr_un* addr, socklen_t* len) {
  std::memset(addr, 0, sizeof(*addr));
  addr->sun_family = AF_UNIX;
  if (abstract) {
    if (name.empty() || name.size() > sizeof(addr->sun_path) - 1) return false;
    std::memcpy(addr->sun_path + 1, name.data(), name.size());
    *len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + 1 + name.size());
  } else {
    if (name.empty() || name.size() > sizeof(addr->sun_path) - 1) return false;
    std::memcpy(addr->sun_path, name.data(), name.size());
    *len = static_cast<socklen_t>(sizeof(sockaddr_un));
  }
  return true;
}

NetnsResult MakeSocket(void*) {
  int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  return {fd, fd < 0 ? errno : 0, "socket"};
}

// A new socket in the network namespace of nsFd (< 0: ours). An abstract name is bound or looked
// up in the namespace of the socket, so binding and connecting stay on the calling thread.
// Throws and returns -1 on failure.
int NewSocket(Napi::Env env, int nsFd) {
  NetnsResult r = RunInNetns(nsFd, MakeSocket, nullptr);
  if (r.fd < 0) ThrowErrno(env, r.syscall, r.err);
  return r.fd;
}

// The optional nsFd argument at index i: -1 when absent or undefined.
bool NsFdArg(const Napi::CallbackInfo& info, size_t i, int* nsFd) {
  *nsFd = -1;
  if (info.Length() <= i || info[i].IsUndefined()) return true;
  if (!CheckInt(info, i, "nsFd")) return false;
  *nsFd = info[i].As<Napi::Number>().Int32Value();
  return true;
}

// listen(name: string, abstract: boolean, backlog: number, mode: number, nsFd?: number): fd
// mode > 0 applies fchmod before bind, so the file is created with those bits (umask aside).
// nsFd (an open network namespace file): the socket is created inside that namespace.
Napi::Value Listen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsFd;
  if (!CheckString(info, 0, "name") || !CheckInt(info, 2, "backlog") || !CheckInt(info, 3, "mode") ||
      !NsFdArg(info, 4, &nsFd)) {
    return env.Null();
  }
  std::string name = info[0].As<Napi::String>().Utf8Value();
  bool abstract = info[1].ToBoolean().Value();
  int backlog = info[2].As<Napi::Number>().Int32Value();
  int mode = info[3].As<Napi::Number>().Int32Value();
  sockaddr_un addr;
  socklen_t len;
  if (!MakeAddr(name, abstract, &addr, &len)) {
    ThrowErrno(env, "bind", ENAMETOOLONG);
    return env.Null();
  }
  int fd = NewSocket(env, nsFd);
  if (fd < 0) return env.Null();
  // fchmod on an unbound unix socket sets the mode of the file that bind() creates.
  if (!abstract && mode > 0 && fchmod(fd, static_cast<mode_t>(mode)) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "fchmod", err);
    return env.Null();
  }
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), len) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "bind", err);
    return env.Null();
  }
  if (listen(fd, backlog) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "listen", err);
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

// accept(fd): new fd, or -1 when no connection is pending.
Napi::Value Accept(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd")) return env.Null();
  int fd = info[0].As<Napi::Number>().Int32Value();
  int c = accept4(fd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
  if (c < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) return Napi::Number::New(env, -1);
    ThrowErrno(env, "accept", errno);
    return env.Null();
  }
  return Napi::Number::New(env, c);
}

// connect(name, abstract, nsFd?): connected fd. Throws on ECONNREFUSED, ENOENT, EAGAIN (backlog
// full) etc. nsFd (an open network namespace file): the socket is created inside that namespace.
Napi::Value Connect(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int nsFd;
  if (!CheckString(info, 0, "name") || !NsFdArg(info, 2, &nsFd)) return env.Null();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  bool abstract = info[1].ToBoolean().Value();
  sockaddr_un addr;
  socklen_t len;
  if (!MakeAddr(name, abstract, &addr, &len)) {
    ThrowErrno(env, "connect", ENAMETOOLONG);
    return env.Null();
  }
  int fd = NewSocket(env, nsFd);
  if (fd < 0) return env.Null();
  int r;
  do {
    r = connect(fd, reinterpret_cast<sockaddr*>(&addr), len);
  } while (r < 0 && errno == EINTR);
  if (r < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "connect", err);
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

// send(fd, bytes: Uint8Array, passFd: number): bytes sent, or -1 when the socket buffer is full.
Napi::Value Send(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd") || !CheckTyped(info, 1, "bytes") || !CheckInt(info, 2, "passFd")) return env.Null();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::TypedArray ta = info[1].As<Napi::TypedArray>();
  int passFd = info[2].As<Napi::Number>().Int32Value();
  uint8_t* data = static_cast<uint8_t*>(ta.ArrayBuffer().Data()) + ta.ByteOffset();
  iovec iov{data, ta.ByteLength()};
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int))];
  if (passFd >= 0) {
    std::memset(cbuf, 0, sizeof(cbuf));
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof(cbuf);
    cmsghdr* c = CMSG_FIRSTHDR(&msg);
    c->cmsg_level = SOL_SOCKET;
    c->cmsg_type = SCM_RIGHTS;
    c->cmsg_len = CMSG_LEN(sizeof(int));
    std::memcpy(CMSG_DATA(c), &passFd, sizeof(int));
  }
  ssize_t n;
  do {
    n = sendmsg(fd, &msg, MSG_NOSIGNAL | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowErrno(env, "sendmsg", errno);
    return env.Null();
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// recv(fd, into: Uint8Array, meta: Int32Array(3)): bytes received (0 = peer closed, -1 = nothing
// pending). meta: [0] first fd received or -1, [1] count of further fds (already closed here),
// [2] bit 0 MSG_TRUNC, bit 1 MSG_CTRUNC.
Napi::Value Recv(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd") || !CheckTyped(info, 1, "into") || !CheckTyped(info, 2, "meta")) return env.Null();
  int fd = info[0].As<Napi::Number>().Int32Value();
  Napi::TypedArray into = info[1].As<Napi::TypedArray>();
  Napi::TypedArray metaArr = info[2].As<Napi::TypedArray>();
  if (metaArr.TypedArrayType() != napi_int32_array || metaArr.ElementLength() < 3) {
    Napi::TypeError::New(env, "meta must be an Int32Array of 3").ThrowAsJavaScriptException();
    return env.Null();
  }
  int32_t* meta = reinterpret_cast<int32_t*>(static_cast<uint8_t*>(metaArr.ArrayBuffer().Data()) + metaArr.ByteOffset());
  uint8_t* data = static_cast<uint8_t*>(into.ArrayBuffer().Data()) + into.ByteOffset();
  iovec iov{data, into.ByteLength()};
  // Room for several fds, so that a peer sending too many is seen (and its fds closed).
  alignas(cmsghdr) char cbuf[CMSG_SPACE(sizeof(int) * 16)];
  msghdr msg{};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = cbuf;
  msg.msg_controllen = sizeof(cbuf);
  ssize_t n;
  do {
    n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
  } while (n < 0 && errno == EINTR);
  meta[0] = -1;
  meta[1] = 0;
  meta[2] = 0;
  if (n < 0) {
    if (errno == EAGAIN || errno == EWOULDBLOCK) return Napi::Number::New(env, -1);
    ThrowErrno(env, "recvmsg", errno);
    return env.Null();
  }
  if (msg.msg_flags & MSG_TRUNC) meta[2] |= 1;
  if (msg.msg_flags & MSG_CTRUNC) meta[2] |= 2;
  for (cmsghdr* c = CMSG_FIRSTHDR(&msg); c != nullptr; c = CMSG_NXTHDR(&msg, c)) {
    if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
    size_t count = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
    for (size_t i = 0; i < count; i++) {
      int rfd;
      std::memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
      if (meta[0] < 0) {
        meta[0] = rfd;
      } else {
        close(rfd);
        meta[1]++;
      }
    }
  }
  return Napi::Number::New(env, static_cast<double>(n));
}

// peerCredentials(fd): [pid, uid, gid] of the process at the other end (SO_PEERCRED).
Napi::Value PeerCredentials(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd")) return env.Null();
  int fd = info[0].As<Napi::Number>().Int32Value();
  ucred cred;
  socklen_t len = sizeof(cred);
  if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
    ThrowErrno(env, "getsockopt", errno);
    return env.Null();
  }
  Napi::Array a = Napi::Array::New(env, 3);
  a.Set(0u, Napi::Number::New(env, cred.pid));
  a.Set(1u, Napi::Number::New(env, cred.uid));
  a.Set(2u, Napi::Number::New(env, cred.gid));
  return a;
}

// close(fd): closes any fd (socket, memfd, eventfd). EINTR is not retried (Linux frees the fd anyway).
Napi::Value Close(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd")) return env.Null();
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (close(fd) < 0 && errno != EINTR) {
    ThrowErrno(env, "close", errno);
    return env.Null();
  }
  return env.Undefined();
}

// dup(fd): a new close-on-exec fd for the same open file (handed to a worker thread, which then
// owns it; the original stays with its owner).
Napi::Value Dup(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd")) return env.Null();
  int fd = fcntl(info[0].As<Napi::Number>().Int32Value(), F_DUPFD_CLOEXEC, 0);
  if (fd < 0) {
    ThrowErrno(env, "fcntl", errno);
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

}  // namespace

void InitSeqpacket(Napi::Env env, Napi::Object exports) {
  exports.Set("listen", Napi::Function::New(env, Listen, "listen"));
  exports.Set("accept", Napi::Function::New(env, Accept, "accept"));
  exports.Set("connect", Napi::Function::New(env, Connect, "connect"));
  exports.Set("send", Napi::Function::New(env, Send, "send"));
  exports.Set("recv", Napi::Function::New(env, Recv, "recv"));
  exports.Set("peerCredentials", Napi::Function::New(env, PeerCredentials, "peerCredentials"));
  exports.Set("close", Napi::Function::New(env, Close, "close"));
  exports.Set("dup", Napi::Function::New(env, Dup, "dup"));
}

}  // namespace memif
