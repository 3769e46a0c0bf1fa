//! Process figures from `/proc` and the fd limit: what the generator reads about the
//! server it drives (RSS, CPU time) and about itself.

use std::time::Instant;

/// Raises this process's soft fd limit to its hard limit; returns the new soft limit.
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct we pass.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        if lim.rlim_cur < lim.rlim_max {
            let want = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &want) == 0 {
                return want.rlim_cur;
            }
        }
        lim.rlim_cur
    }
}

/// Resident set size of a process in KiB (`VmRSS` of `/proc/<pid>/status`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    s.lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|v| v.parse().ok())
}

/// Summed RSS of several processes (a cluster's nodes); None when one cannot be read.
pub fn rss_kib_sum(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&p| rss_kib(p)).sum()
}

/// Summed CPU ticks of several processes; None when one cannot be read.
fn cpu_ticks_sum(pids: &[u32]) -> Option<u64> {
    if pids.is_empty() {
        return None;
    }
    pids.iter().map(|&p| cpu_ticks(p)).sum()
}

/// User + system CPU time of a process (all its threads) in clock ticks.
pub fn cpu_ticks(pid: u32) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name may hold spaces: fields are counted after its closing ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // After the name, field 3 (state) is index 0; utime is field 14, stime 15.
    let utime: u64 = f.get(11)?.parse().ok()?;
    let stime: u64 = f.get(12)?.parse().ok()?;
    Some(utime + stime)
}

fn ticks_per_sec() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// Busy CPU time of the whole machine (all cores) in clock ticks, from the first
/// line of `/proc/stat` (user, nice, system, irq, softirq, steal).
pub fn machine_busy_ticks() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/stat").ok()?;
    let f: Vec<u64> = s
        .lines()
        .next()?
        .split_whitespace()
        .skip(1)
        .filter_map(|x| x.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal
    Some(f.first()? + f.get(1)? + f.get(2)? + f.get(5)? + f.get(6)? + f.get(7).unwrap_or(&0))
}

/// Measures the CPU share of the server (all its processes: a cluster's nodes are
/// summed), of this process and of everything else on the machine over a window.
pub struct CpuWindow {
    server: Vec<u32>,
    start: Instant,
    server_ticks: Option<u64>,
    self_ticks: Option<u64>,
    machine_ticks: Option<u64>,
}

/// CPU used over a window, in percent of one core (a server of two processes can
/// pass 100%).
#[derive(Debug, Clone, Copy, Default)]
pub struct CpuShare {
    pub server_pct: Option<f64>,
    pub generator_pct: Option<f64>,
    /// Every other process on the machine (other engineers' builds, a database
    /// server, ...): a noisy-neighbour gauge.
    pub others_pct: Option<f64>,
}

impl CpuWindow {
    pub fn start(server: &[u32]) -> Self {
        CpuWindow {
            server: server.to_vec(),
            start: Instant::now(),
            server_ticks: cpu_ticks_sum(server),
            self_ticks: cpu_ticks(std::process::id()),
            machine_ticks: machine_busy_ticks(),
        }
    }

    pub fn stop(&self) -> CpuShare {
        let secs = self.start.elapsed().as_secs_f64().max(1e-6);
        let tps = ticks_per_sec();
        let pct = |before: Option<u64>, now: Option<u64>| match (before, now) {
            (Some(b), Some(n)) => Some((n.saturating_sub(b)) as f64 / tps / secs * 100.0),
            _ => None,
        };
        let server_pct = pct(self.server_ticks, cpu_ticks_sum(&self.server));
        let generator_pct = pct(self.self_ticks, cpu_ticks(std::process::id()));
        let machine_pct = pct(self.machine_ticks, machine_busy_ticks());
        CpuShare {
            server_pct,
            generator_pct,
            others_pct: machine_pct
                .map(|m| (m - server_pct.unwrap_or(0.0) - generator_pct.unwrap_or(0.0)).max(0.0)),
        }
    }
}
