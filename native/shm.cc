// Shared memory: memfd_create + seals + ftruncate for the regions a slave creates, and mmap of any
// region fd as an external ArrayBuffer. unmap() detaches the ArrayBuffer before munmap, so a stale
// JS view sees length 0, never freed memory; a finalizer unmaps what was never unmapped explicitly.
#include <fcntl.h>
#include <sys/mman.h>
#include <linux/magic.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include <mutex>
#include <unordered_map>

#include "common.h"

namespace memif {
namespace {

// One mapping. Owned by its ArrayBuffer's finalizer. While map() is still creating that
// ArrayBuffer, a failure may have run the finalizer already (Node does for a length it cannot
// hold), or may run it later, or never: so the finalizer only marks it then, and map() unmaps at
// once and frees the record only if the finalizer has run (otherwise a later finalizer frees it; if
// none ever comes, these few bytes leak, which beats a double free).
struct Mapping {
  void* addr;
  size_t size;  // what munmap takes: on hugetlbfs, rounded up to whole huge pages
  bool unmapped;
  bool creating;
  bool finalized;
};

// Live mappings by address, shared by every thread that loaded the addon.
std::mutex g_mutex;
std::unordered_map<void*, Mapping*> g_mappings;

// True for a file on hugetlbfs (a MFD_HUGETLB memfd, a file under a hugetlbfs mount).
bool OnHugetlbfs(int fd) {
  struct statfs sfs;
  return fstatfs(fd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC;
}

// Unmaps (once) and forgets. Caller holds g_mutex.
void UnmapLocked(Mapping* m) {
  if (m->unmapped) return;
  m->unmapped = true;
  munmap(m->addr, m->size);
  g_mappings.erase(m->addr);
}

void FinalizeMapping(napi_env /*env*/, void* /*data*/, void* hint) {
  Mapping* m = static_cast<Mapping*>(hint);
  std::lock_guard<std::mutex> lock(g_mutex);
  UnmapLocked(m);
  if (m->creating) {
    m->finalized = true;  // map() frees it
    return;
  }
  delete m;
}

// memfdCreate(name, size): fd of a sealed (no shrinking) memfd of exactly size bytes.
Napi::Value MemfdCreate(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckString(info, 0, "name") || !CheckInt(info, 1, "size")) return env.Null();
  std::string name = info[0].As<Napi::String>().Utf8Value();
  double size = info[1].As<Napi::Number>().DoubleValue();
  if (!(size > 0) || size > 9007199254740991.0) {
    ThrowErrno(env, "ftruncate", EINVAL);
    return env.Null();
  }
  int fd = memfd_create(name.c_str(), MFD_ALLOW_SEALING | MFD_CLOEXEC);
  if (fd < 0) {
    ThrowErrno(env, "memfd_create", errno);
    return env.Null();
  }
  if (ftruncate(fd, static_cast<off_t>(size)) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "ftruncate", err);
    return env.Null();
  }
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) {
    int err = errno;
    close(fd);
    ThrowErrno(env, "fcntl", err);
    return env.Null();
  }
  return Napi::Number::New(env, fd);
}

// map(fd, size): ArrayBuffer over size bytes of the file from offset 0, shared, read/write.
// A regular file (memfd, hugepage file) smaller than size is refused: touching the missing pages
// would raise SIGBUS.
Napi::Value Map(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd") || !CheckInt(info, 1, "size")) return env.Null();
  int fd = info[0].As<Napi::Number>().Int32Value();
  double dsize = info[1].As<Napi::Number>().DoubleValue();
  if (!(dsize > 0) || dsize > 9007199254740991.0) {
    ThrowErrno(env, "mmap", EINVAL);
    return env.Null();
  }
  size_t size = static_cast<size_t>(dsize);
  struct stat st;
  if (fstat(fd, &st) < 0) {
    ThrowErrno(env, "fstat", errno);
    return env.Null();
  }
  if (!S_ISREG(st.st_mode) || static_cast<size_t>(st.st_size) < size) {
    ThrowErrno(env, "mmap", S_ISREG(st.st_mode) ? EOVERFLOW : ENODEV);
    return env.Null();
  }
  // munmap of a hugetlbfs mapping fails (EINVAL) unless its length is whole huge pages (st_blksize
  // there): the mapping would outlive unmap(), pinning its pages.
  size_t maplen = size;
  if (OnHugetlbfs(fd) && st.st_blksize > 0) {
    size_t page = static_cast<size_t>(st.st_blksize);
    maplen = (size + page - 1) / page * page;
  }
  void* addr = mmap(nullptr, maplen, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
  if (addr == MAP_FAILED) {
    ThrowErrno(env, "mmap", errno);
    return env.Null();
  }
  Mapping* m = new Mapping{addr, maplen, false, true, false};
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    g_mappings[addr] = m;
  }
  napi_value ab = nullptr;
  napi_status s = napi_create_external_arraybuffer(env, addr, size, FinalizeMapping, m, &ab);
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    m->creating = false;
    if (s != napi_ok || m->finalized) {
      UnmapLocked(m);
      if (m->finalized) delete m;
      m = nullptr;
    }
  }
  if (m == nullptr) {
    // Leave an exception N-API may have set (e.g. a RangeError for a length V8 cannot hold).
    if (!env.IsExceptionPending()) {
      Napi::Error::New(env, "napi_create_external_arraybuffer failed").ThrowAsJavaScriptException();
    }
    return env.Null();
  }
  return Napi::Value(env, ab);
}

// unmap(ab): munmap now and detach the ArrayBuffer. Idempotent; unknown buffers are ignored.
Napi::Value Unmap(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (info.Length() < 1 || !info[0].IsArrayBuffer()) {
    Napi::TypeError::New(env, "unmap takes the ArrayBuffer that map returned").ThrowAsJavaScriptException();
    return env.Null();
  }
  Napi::ArrayBuffer ab = info[0].As<Napi::ArrayBuffer>();
  void* addr = ab.Data();
  if (addr == nullptr) return Napi::Boolean::New(env, false);
  bool found = false;
  {
    std::lock_guard<std::mutex> lock(g_mutex);
    auto it = g_mappings.find(addr);
    if (it != g_mappings.end()) {
      UnmapLocked(it->second);
      found = true;
    }
  }
  // No JS runs between munmap and detach. After detach every view has length 0, and the
  // finalizer (now or later) only frees the bookkeeping.
  if (found) napi_detach_arraybuffer(env, ab);
  return Napi::Boolean::New(env, found);
}

// sealShrink(fd): makes sure the file can no longer shrink (F_SEAL_SHRINK), so that a mapping of
// it never faults with SIGBUS. Returns 0 when the seal is (now) in place, else the errno:
// EINVAL for files that take no seals (not a memfd), EPERM for a memfd created without
// MFD_ALLOW_SEALING or already sealed against new seals, EOPNOTSUPP for hugetlbfs (a
// MFD_HUGETLB memfd): it takes F_SEAL_SHRINK, but its owner can still punch holes in it
// (fallocate PUNCH_HOLE; only F_SEAL_WRITE stops that, and it forbids our writable mapping), and
// touching a hole when no free huge page is left raises SIGBUS.
Napi::Value SealShrink(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  if (!CheckInt(info, 0, "fd")) return env.Null();
  int fd = info[0].As<Napi::Number>().Int32Value();
  if (OnHugetlbfs(fd)) return Napi::Number::New(env, EOPNOTSUPP);
  int seals = fcntl(fd, F_GET_SEALS);
  if (seals < 0) return Napi::Number::New(env, errno);
  if (seals & F_SEAL_SHRINK) return Napi::Number::New(env, 0);
  if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK) < 0) return Napi::Number::New(env, errno);
  return Napi::Number::New(env, 0);
}

// mappingCount(): live mappings made by this addon (for leak checks in tests).
Napi::Value MappingCount(const Napi::CallbackInfo& info) {
  std::lock_guard<std::mutex> lock(g_mutex);
  return Napi::Number::New(info.Env(), static_cast<double>(g_mappings.size()));
}

}  // namespace

void InitShm(Napi::Env env, Napi::Object exports) {
  exports.Set("memfdCreate", Napi::Function::New(env, MemfdCreate, "memfdCreate"));
  exports.Set("map", Napi::Function::New(env, Map, "map"));
  exports.Set("unmap", Napi::Function::New(env, Unmap, "unmap"));
  exports.Set("mappingCount", Napi::Function::New(env, MappingCount, "mappingCount"));
  exports.Set("sealShrink", Napi::Function::New(env, SealShrink, "sealShrink"));
}

}  // namespace memif
