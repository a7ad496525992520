//! Runs a command and prints its wall time, CPU time and peak RSS as one JSON line, for the
//! fleet benchmark.
//!
//! Why a separate process: Linux carries the high-water RSS of the address space a process
//! had before `exec` into its own peak (`ru_maxrss`), so a child spawned straight from the big
//! benchmark process (which hosts the whole fleet) would report the benchmark's RSS, not its
//! own. Spawned from this small process, it reports its own.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((program, rest)) = args.split_first() else {
        eprintln!("usage: measure PROGRAM [ARGS...]");
        std::process::exit(2);
    };
    let started = Instant::now();
    // Reaped by wait4 below, which also yields the child's own rusage.
    #[allow(clippy::zombie_processes)]
    let child = Command::new(program)
        .args(rest)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {program}: {e}"));
    let mut status = 0;
    // SAFETY: zeroed rusage is a valid value; wait4 fills it for our own child.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as i32, &mut status, 0, &mut usage) };
    assert!(pid > 0, "wait4 failed");
    let wall = started.elapsed();
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
    };
    let cpu = tv(usage.ru_utime) + tv(usage.ru_stime);
    let success = libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0;
    println!(
        "{{\"wall_us\":{},\"cpu_us\":{},\"max_rss_kib\":{},\"success\":{success}}}",
        wall.as_micros(),
        cpu.as_micros(),
        usage.ru_maxrss
    );
}
