// Network namespaces without moving the process: RunInNetns runs one short function (socket(),
// open("/dev/net/tun") + TUNSETIFF) on a helper thread that first joined the namespace with
// setns(CLONE_NEWNET). A socket or device belongs to the namespace it was created in, whatever
// thread later uses it, so the main thread then binds, connects, reads and writes as usual.
// The helper ends right after, and with it the namespace change: no other thread ever moves.
#include <pthread.h>
#include <sched.h>
#include <sys/socket.h>

#include "common.h"

namespace memif {
namespace {

struct Job {
  int nsFd;
  NetnsFn fn;
  void* arg;
  NetnsResult result;
};

void* RunJob(void* p) {
  Job* job = static_cast<Job*>(p);
  if (setns(job->nsFd, CLONE_NEWNET) < 0) {
    job->result = {-1, errno, "setns"};
    return nullptr;
  }
  job->result = job->fn(job->arg);
  return nullptr;
}

}  // namespace

// Joining blocks the event loop only for the thread's life: one clone, setns and a couple of
// non-blocking system calls (socket, open of a character device, two ioctls), some tens of
// microseconds; none of them waits for a peer. So the helper is joined at once rather than made
// asynchronous, which keeps every caller synchronous, like the rest of the socket functions.
NetnsResult RunInNetns(int nsFd, NetnsFn fn, void* arg) {
  if (nsFd < 0) return fn(arg);
  Job job{nsFd, fn, arg, {-1, 0, ""}};
  pthread_t thread;
  int r = pthread_create(&thread, nullptr, RunJob, &job);
  if (r != 0) return {-1, r, "pthread_create"};
  pthread_join(thread, nullptr);
  return job.result;
}

}  // namespace memif
