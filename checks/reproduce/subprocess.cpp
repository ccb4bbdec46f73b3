#include "subprocess.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <stdexcept>
#include <chrono>
#include <cstdlib>
#include <cstring>

extern char** environ;

namespace attnbounds {

namespace {

struct Pipe {
  int fd[2] = {-1, -1};
  bool open(int flags = O_CLOEXEC) { return pipe2(fd, flags) == 0; }
  void close_end(int i) {
    if (fd[i] >= 0) ::close(fd[i]);
    fd[i] = -1;
  }
  ~Pipe() {
    close_end(0);
    close_end(1);
  }
};

// The interrupt state shared with the signal handler: the first signal caught, and a pipe the
// handler writes to so that a poll() waiting on a child wakes up at once.
volatile sig_atomic_t g_caught = 0;
int g_wake[2] = {-1, -1};
constexpr int kGuardedSignals[] = {SIGINT, SIGTERM, SIGHUP};
struct sigaction g_previous[3];

extern "C" void on_interrupt(int sig) {
  const int saved = errno;
  if (g_caught == 0) g_caught = sig;
  if (g_wake[1] >= 0) {
    const char byte = 1;
    [[maybe_unused]] ssize_t n = ::write(g_wake[1], &byte, 1);
  }
  errno = saved;
}

void kill_group(pid_t pid) {
  // The child made itself the leader of its own group; the group id is its pid.
  if (::kill(-pid, SIGKILL) != 0) ::kill(pid, SIGKILL);
}

}  // namespace

InterruptGuard::InterruptGuard() {
  if (g_wake[0] >= 0) throw std::logic_error("InterruptGuard: one at a time");
  if (pipe2(g_wake, O_CLOEXEC | O_NONBLOCK) != 0) throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  g_caught = 0;
  struct sigaction sa {};
  sa.sa_handler = on_interrupt;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;  // no SA_RESTART: a blocking call returns EINTR and the caller looks at the flag
  for (int i = 0; i < 3; ++i) sigaction(kGuardedSignals[i], &sa, &g_previous[i]);
}

InterruptGuard::~InterruptGuard() {
  for (int i = 0; i < 3; ++i) sigaction(kGuardedSignals[i], &g_previous[i], nullptr);
  ::close(g_wake[0]);
  ::close(g_wake[1]);
  g_wake[0] = g_wake[1] = -1;
}

int InterruptGuard::caught_signal() { return g_caught; }

void InterruptGuard::die_by(int sig) {
  std::signal(sig, SIG_DFL);
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, sig);
  sigprocmask(SIG_UNBLOCK, &set, nullptr);
  std::raise(sig);
  std::_Exit(128 + sig);
}

ProcessResult run_process(const std::string& program, const std::vector<std::string>& args, double timeout_seconds,
                          const std::filesystem::path& cwd) {
  ProcessResult result;
  auto start = std::chrono::steady_clock::now();
  if (g_caught != 0 && g_wake[0] >= 0) {
    result.interrupted = true;
    result.error = "interrupted before it started";
    return result;
  }
  // Resolved before fork: the child may only make async-signal-safe calls until exec.
  // A path with '/' is used as is (execve reports why it cannot run), made absolute because the
  // child changes to `cwd` first.
  const std::optional<std::string> path =
      program.find('/') != std::string::npos ? std::optional<std::string>(std::filesystem::absolute(program).string())
                                             : find_program(program);
  if (!path) {
    result.error = "cannot execute " + program + ": " + std::strerror(ENOENT);
    return result;
  }
  Pipe out, err, exec_status;
  if (!out.open() || !err.open() || !exec_status.open()) {
    result.error = std::string("pipe: ") + std::strerror(errno);
    return result;
  }
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const std::string dir = cwd.string();
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) {
    result.error = std::string("fork: ") + std::strerror(errno);
    return result;
  }
  if (pid == 0) {
    // Child: own process group; killed by the kernel if the parent dies first.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int e = 0;
    const int null_fd = ::open("/dev/null", O_RDONLY);
    if (null_fd < 0 || ::dup2(null_fd, 0) < 0 || ::dup2(out.fd[1], 1) < 0 || ::dup2(err.fd[1], 2) < 0) e = errno;
    if (e == 0 && !dir.empty() && ::chdir(dir.c_str()) != 0) e = errno;
    if (e == 0) {
      ::execve(path->c_str(), argv.data(), environ);
      e = errno;
    }
    [[maybe_unused]] ssize_t n = ::write(exec_status.fd[1], &e, sizeof e);
    ::_exit(127);
  }
  ::setpgid(pid, pid);  // also here, so that a kill of the group cannot precede the child's own call
  result.pid = pid;
  out.close_end(1);
  err.close_end(1);
  exec_status.close_end(1);
  {
    int child_errno = 0;
    ssize_t got;
    while ((got = ::read(exec_status.fd[0], &child_errno, sizeof child_errno)) < 0 && errno == EINTR) {
    }
    if (got == static_cast<ssize_t>(sizeof child_errno)) {
      int status = 0;
      while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
      }
      result.error = "cannot execute " + program + ": " + std::strerror(child_errno);
      return result;
    }
  }
  result.started = true;

  pollfd fds[3] = {{out.fd[0], POLLIN, 0}, {err.fd[0], POLLIN, 0}, {g_wake[0], POLLIN, 0}};
  std::string* sinks[2] = {&result.out, &result.err};
  int open_count = 2;
  char buf[65536];
  while (open_count > 0) {
    if (g_wake[0] >= 0 && g_caught != 0) {
      result.interrupted = true;
      kill_group(pid);
      break;
    }
    int wait_ms = -1;
    if (timeout_seconds > 0) {
      double left = timeout_seconds - std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
      if (left <= 0) {
        result.timed_out = true;
        kill_group(pid);
        break;
      }
      wait_ms = static_cast<int>(left * 1000) + 1;
    }
    int n = poll(fds, 3, wait_ms);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || !(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
      ssize_t got = read(fds[i].fd, buf, sizeof buf);
      if (got > 0) {
        sinks[i]->append(buf, static_cast<std::size_t>(got));
      } else if (got == 0 || errno != EINTR) {
        fds[i].fd = -1;
        --open_count;
      }
    }
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (WIFEXITED(status)) result.exit_status = WEXITSTATUS(status);
  else if (WIFSIGNALED(status)) result.exit_status = 128 + WTERMSIG(status);
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  return result;
}

std::string self_executable() {
  std::error_code ec;
  auto p = std::filesystem::read_symlink("/proc/self/exe", ec);
  return ec ? std::string("attnbounds") : p.string();
}

std::optional<std::string> find_program(const std::string& name) {
  if (name.empty()) return std::nullopt;
  if (name.find('/') != std::string::npos)
    return access(name.c_str(), X_OK) == 0 ? std::optional<std::string>(name) : std::nullopt;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    std::size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::filesystem::path dir(end > start ? dirs.substr(start, end - start) : std::string("."));
    std::string candidate = (dir / name).string();
    if (access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return std::nullopt;
}

std::string shell_join(const std::vector<std::string>& words) {
  std::string out;
  for (std::size_t i = 0; i < words.size(); ++i) {
    const std::string& w = words[i];
    if (i) out += ' ';
    bool plain = !w.empty() && w.find_first_not_of("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:,=+@%") ==
                                     std::string::npos;
    if (plain) {
      out += w;
    } else {
      out += '\'';
      for (char ch : w) out += ch == '\'' ? std::string("'\\''") : std::string(1, ch);
      out += '\'';
    }
  }
  return out;
}

}  // namespace attnbounds
