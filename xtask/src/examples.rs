//! The example apps in headless Chromium, driven over WebDriver (chromedriver's HTTP
//! API): each dashboard is loaded from the demo server, must show live data, and after
//! 500 scripted stress toggles its "leaked" counters must return to 0. A screenshot of
//! each is written to `target/demo/screenshots/`.

use crate::demo::{build_apps, demo_dir, gateway_args, APPS};
use crate::gateway::GatewayProcess;
use crate::CHROMEDRIVER;
use anyhow::{bail, Context, Result};
use base64::Engine;
use serde_json::{json, Value};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Toggles the stress mode must reach.
const TOGGLES: u64 = 500;

struct Driver {
    child: Child,
    base: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

fn call(method: &str, url: &str, body: Option<Value>) -> Result<Value> {
    let request = ureq::request(method, url).timeout(Duration::from_secs(60));
    let response = match body {
        Some(body) => request.send_json(body),
        None => request.call(),
    };
    let response = match response {
        Ok(r) => r,
        Err(ureq::Error::Status(code, r)) => {
            bail!(
                "{method} {url}: {code} {}",
                r.into_string().unwrap_or_default()
            )
        }
        Err(e) => return Err(e).context(format!("{method} {url}")),
    };
    let value: Value = response.into_json()?;
    Ok(value["value"].clone())
}

struct Session<'a> {
    driver: &'a Driver,
    id: String,
}

impl Session<'_> {
    fn url(&self, path: &str) -> String {
        format!("{}/session/{}{path}", self.driver.base, self.id)
    }

    fn goto(&self, url: &str) -> Result<()> {
        call("POST", &self.url("/url"), Some(json!({ "url": url })))?;
        Ok(())
    }

    fn script(&self, script: &str) -> Result<Value> {
        call(
            "POST",
            &self.url("/execute/sync"),
            Some(json!({ "script": script, "args": [] })),
        )
    }

    fn screenshot(&self) -> Result<Vec<u8>> {
        let data = call("GET", &self.url("/screenshot"), None)?;
        let text = data.as_str().context("screenshot is not a string")?;
        Ok(base64::engine::general_purpose::STANDARD.decode(text)?)
    }

    /// Poll `script` until `done` holds for its value, for at most `within`.
    fn wait_for(
        &self,
        what: &str,
        within: Duration,
        script: &str,
        done: impl Fn(&Value) -> bool,
    ) -> Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            let value = self.script(script)?;
            if done(&value) {
                return Ok(value);
            }
            if Instant::now() > deadline {
                bail!("timed out waiting for {what}; last value {value}");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Session<'_> {
    fn drop(&mut self) {
        let _ = call("DELETE", &self.url(""), None);
    }
}

fn start_driver() -> Result<Driver> {
    let port = free_port()?;
    let child = Command::new(CHROMEDRIVER)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting chromedriver")?;
    let driver = Driver {
        child,
        base: format!("http://127.0.0.1:{port}"),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    while call("GET", &format!("{}/status", driver.base), None).is_err() {
        if Instant::now() > deadline {
            bail!("chromedriver did not start");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    Ok(driver)
}

fn new_session(driver: &Driver) -> Result<Session<'_>> {
    let capabilities = json!({
        "capabilities": { "alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-first-run", "--window-size=1040,900"]
            }
        }}
    });
    let value = call(
        "POST",
        &format!("{}/session", driver.base),
        Some(capabilities),
    )?;
    let id = value["sessionId"]
        .as_str()
        .context("no session id")?
        .to_owned();
    Ok(Session { driver, id })
}

const LIVE_DATA: &str = "return [document.querySelectorAll('#ticker tr').length, \
    (document.getElementById('state') || {}).textContent || ''];";
const TOGGLE_COUNT: &str =
    "return Number((document.getElementById('toggles') || {}).textContent || 0);";
const LEAKS: &str = "return ['sockets','callbacks','timers','handles'].map(k => \
    Number((document.getElementById('leak-' + k) || {}).textContent));";

fn check_app(session: &Session, base: &str, dir: &str) -> Result<()> {
    session.goto(&format!("{base}/{dir}/"))?;
    let live = session.wait_for("live data", Duration::from_secs(30), LIVE_DATA, |v| {
        v[0].as_u64().unwrap_or(0) >= 4 && v[1] == "open"
    })?;
    eprintln!("xtask: {dir}: live data: {live}");
    // Let chat lines arrive (the demo bot posts every 2 s) for a fuller screenshot.
    std::thread::sleep(Duration::from_millis(4500));
    let shots = demo_dir().join("screenshots");
    std::fs::create_dir_all(&shots)?;
    std::fs::write(
        shots.join(format!("{dir}-dashboard.png")),
        session.screenshot()?,
    )?;
    session.script("document.getElementById('stress').click(); return 0;")?;
    // While stress runs, its widgets hold a connection of their own: the counters
    // must show it, or the "back to 0" below would prove nothing.
    let during = session.wait_for(
        "stress widgets to hold resources",
        Duration::from_secs(10),
        LEAKS,
        |v| {
            v.as_array()
                .is_some_and(|a| a.first().and_then(Value::as_i64).unwrap_or(0) >= 1)
        },
    )?;
    let toggles = session.wait_for(
        "500 stress toggles",
        Duration::from_secs(90),
        TOGGLE_COUNT,
        |v| v.as_u64().unwrap_or(0) >= TOGGLES,
    )?;
    session.script("document.getElementById('stress').click(); return 0;")?;
    let leaks = session.wait_for(
        "leaked counters back to 0",
        Duration::from_secs(15),
        LEAKS,
        |v| {
            v.as_array()
                .is_some_and(|a| a.len() == 4 && a.iter().all(|n| n.as_i64() == Some(0)))
        },
    )?;
    eprintln!(
        "xtask: {dir}: during stress leaked [sockets, callbacks, timers, handles] = {during}; \
         after {toggles} toggles and stop = {leaks}"
    );
    Ok(())
}

/// Run the example-app checks; returns (passed, failed) app counts.
pub(crate) fn run_examples() -> Result<(u64, u64)> {
    let dir = build_apps()?;
    let dir = dir.to_string_lossy().into_owned();
    let args = gateway_args("127.0.0.1:0", &dir);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let gateway = GatewayProcess::start(&args)?;
    let base = gateway.http_url();
    let driver = start_driver()?;
    let mut counts = (0, 0);
    for (_, app) in APPS {
        // A fresh browser per app: the counters of one page do not mix with the other.
        let session = new_session(&driver)?;
        match check_app(&session, &base, app) {
            Ok(()) => {
                println!("example {app} ... ok");
                counts.0 += 1;
            }
            Err(err) => {
                println!("example {app} ... FAILED: {err:#}");
                counts.1 += 1;
            }
        }
    }
    Ok(counts)
}
