//! Creates chatwire's benchmark users the way a person does: `POST /signup`, then
//! the verification link that the console mailer (no SMTP configured) writes to
//! the server's JSON log, opened with `GET`. Users are created on a fresh database,
//! so they get ids 1..N, which `--first-user` and the minted tokens rely on (each
//! connection's `user-id` greeting confirms it).

use std::{collections::HashSet, path::PathBuf, time::Duration, time::Instant};

use anyhow::{Context, Result, bail};
use chatwire_bench::http::Client;
use clap::Args;
use futures_util::{StreamExt, stream};
use serde_json::{Value, json};

#[derive(Args)]
pub struct SetupArgs {
    /// host:port of chatwire's expresschat listener.
    #[arg(long, default_value = "127.0.0.1:3000")]
    addr: String,
    /// The server's log (CHATWIRE_LOG_FORMAT=json on stderr, redirected here).
    #[arg(long)]
    log: PathBuf,
    #[arg(long, default_value_t = 1000)]
    users: usize,
    /// Requests in flight.
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
}

fn email(i: usize) -> String {
    format!("bench{i}@example.com")
}

/// Runs `f` for every index over `concurrency` keep-alive connections.
async fn over_pool<F>(addr: &str, items: Vec<String>, concurrency: usize, f: F) -> Result<usize>
where
    F: Fn(&String) -> (&'static str, String, Option<String>) + Copy,
{
    let chunks: Vec<Vec<String>> = {
        let n = concurrency.max(1);
        let mut c = vec![Vec::new(); n];
        for (i, it) in items.into_iter().enumerate() {
            c[i % n].push(it);
        }
        c
    };
    let results: Vec<Result<usize>> = stream::iter(chunks)
        .map(|chunk| async move {
            let mut client = Client::connect(addr).await?;
            let mut ok = 0;
            for it in &chunk {
                let (method, path, body) = f(it);
                let (status, text) = client.request(method, &path, body.as_deref()).await?;
                if status == 200 || text.contains("User Already Exists") {
                    ok += 1;
                } else {
                    eprintln!("setup: {method} {path}: {status} {text}");
                }
            }
            Ok(ok)
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    let mut ok = 0;
    for r in results {
        ok += r?;
    }
    Ok(ok)
}

/// Verification paths (`/verify?email=..&token=..`) found in the log, by email.
fn links(log: &PathBuf, wanted: &HashSet<String>) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(log).with_context(|| format!("read {}", log.display()))?;
    let mut out = Vec::new();
    for line in text.lines() {
        if !line.contains("mail (console)") {
            continue;
        }
        let Ok(v) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        let fields = v.get("fields").unwrap_or(&v);
        let (Some(to), Some(link)) = (
            fields.get("to").and_then(Value::as_str),
            fields.get("link").and_then(Value::as_str),
        ) else {
            continue;
        };
        if !wanted.contains(to) {
            continue;
        }
        // Keep the path and query; the host is the listener we talk to.
        let after_scheme = link.split_once("://").map(|x| x.1).unwrap_or(link);
        if let Some(slash) = after_scheme.find('/') {
            out.push(after_scheme[slash..].to_owned());
        }
    }
    Ok(out)
}

pub async fn run(a: SetupArgs) -> Result<()> {
    let started = Instant::now();
    let emails: Vec<String> = (1..=a.users).map(email).collect();
    let signed = over_pool(&a.addr, emails.clone(), a.concurrency, |e| {
        let name = e.split('@').next().unwrap_or(e).to_owned();
        let body = json!({"name": name, "email": e, "password": "benchpass1"}).to_string();
        ("POST", "/signup".to_owned(), Some(body))
    })
    .await?;
    let signup_secs = started.elapsed().as_secs_f64();
    eprintln!("setup: {signed} sign-ups in {signup_secs:.1}s");

    let wanted: HashSet<String> = emails.into_iter().collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let paths = loop {
        let p = links(&a.log, &wanted)?;
        if p.len() >= signed || Instant::now() > deadline {
            break p;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    let verified = over_pool(&a.addr, paths, a.concurrency, |p| ("GET", p.clone(), None)).await?;
    eprintln!(
        "setup: {verified} verified, {:.1}s in all",
        started.elapsed().as_secs_f64()
    );
    if verified < a.users {
        bail!("only {verified} of {} users verified", a.users);
    }
    println!(
        "{}",
        json!({"scenario": "setup", "users": a.users, "signup_secs": signup_secs,
               "total_secs": started.elapsed().as_secs_f64()})
    );
    Ok(())
}
