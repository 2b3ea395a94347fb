// TAP devices: tapOpen(name, nsFd) opens /dev/net/tun, creates (or attaches to) the TAP `name`
// (IFF_TAP | IFF_NO_PI: each read or write is one whole Ethernet frame) and brings it up. With
// nsFd >= 0 this runs on a helper thread inside that network namespace (native/netns.cc), where
// the device is then created. Returns a non-blocking, close-on-exec fd; frames are read and
// written from TypeScript. A device we created goes away when its last fd closes.
#include <fcntl.h>
#include <linux/if.h>
#include <linux/if_tun.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common.h"

namespace memif {
namespace {

struct TapJob {
  char name[IFNAMSIZ];
};

NetnsResult OpenTap(void* arg) {
  TapJob* job = static_cast<TapJob*>(arg);
  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) return {-1, errno, "open /dev/net/tun"};
  ifreq ifr;
  std::memset(&ifr, 0, sizeof(ifr));
  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  std::memcpy(ifr.ifr_name, job->name, IFNAMSIZ);
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    int err = errno;
    close(fd);
    return {-1, err, "ioctl TUNSETIFF"};
  }
  std::memcpy(job->name, ifr.ifr_name, IFNAMSIZ);  // the kernel's name ("tap%d" filled in)
  job->name[IFNAMSIZ - 1] = '\0';
  // Interface flags are set through any socket of the device's namespace (this thread's).
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    int err = errno;
    close(fd);
    return {-1, err, "socket"};
  }
  NetnsResult result{fd, 0, ""};
  if (ioctl(s, SIOCGIFFLAGS, &ifr) < 0) {
    result = {-1, errno, "ioctl SIOCGIFFLAGS"};
  } else if ((ifr.ifr_flags & IFF_UP) == 0) {
    ifr.ifr_flags |= IFF_UP;
    if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0) result = {-1, errno, "ioctl SIOCSIFFLAGS"};
  }
  close(s);
  if (result.fd < 0) close(fd);
  return result;
}

// tapOpen(name: string, nsFd: number): [fd, name]. name: at most 15 bytes; '' lets the kernel
// choose (tap0, tap1, ...).
Napi::Value TapOpen(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckString(info, 0, "name") || !CheckInt(info, 1, "nsFd")) return env.Null();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  if (name.size() >= IFNAMSIZ || name.find('\0') != std::string::npos) {
    ThrowErrno(env, "ioctl TUNSETIFF", ENAMETOOLONG);
    return env.Null();
  }
  TapJob job;
  std::memset(&job, 0, sizeof(job));
  std::memcpy(job.name, name.data(), name.size());
  NetnsResult r = RunInNetns(info[1].As<Napi::Number>().Int32Value(), OpenTap, &job);
  if (r.fd < 0) {
    ThrowErrno(env, r.syscall, r.err);
    return env.Null();
  }
  Napi::Array a = Napi::Array::New(env, 2);
  a.Set(0u, Napi::Number::New(env, r.fd));
  a.Set(1u, Napi::String::New(env, job.name));
  return a;
}

}  // namespace

void InitTap(Napi::Env env, Napi::Object exports) {
  exports.Set("tapOpen", Napi::Function::New(env, TapOpen, "tapOpen"));
}

}  // namespace memif
