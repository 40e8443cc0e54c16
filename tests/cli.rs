//! End-to-end tests of the binary on fixtures: exact counts, output shape, determinism across
//! threads and chunk sizes, and the error contract (exit codes, one-line messages).

mod common;

use common::{fixture, gzip, json, tar_of, why409, zip_of};
use predicates::prelude::*;
use serde_json::Value;
use std::io::{Read, Write};

#[test]
fn basic_fixture_exact_counts() {
    let path = fixture("basic/access.log");
    let r = json(&[path.to_str().unwrap()]);
    assert_eq!(r["schema"], "why409.report/v1");
    let input = &r["inputs"][0];
    assert_eq!(input["format"], "combined");
    assert_eq!(input["lines"], 25);
    assert_eq!(input["parsed"], 20);
    assert_eq!(input["skipped"], 5);
    assert_eq!(input["skip_reasons"]["malformed_line"], 2);
    assert_eq!(input["skip_reasons"]["bad_timestamp"], 1);
    assert_eq!(input["skip_reasons"]["bad_status"], 1);
    assert_eq!(input["skip_reasons"]["blank_line"], 1);
    // Examples name the real line numbers.
    let lines: Vec<u64> = input["skip_examples"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, vec![18, 19, 20, 21, 24]);

    // Offsets (+0100, -0700, +0530) all land on the same UTC minute.
    assert_eq!(r["period"]["start"], "2026-03-02T09:00:01Z");
    assert_eq!(r["period"]["end"], "2026-03-02T09:00:22Z");
    assert_eq!(r["totals"]["requests"], 20);
    assert_eq!(r["totals"]["writes"], 13);
    assert_eq!(r["totals"]["conflicts"], 8);
    assert_eq!(r["totals"]["by_status"]["409"], 3);
    assert_eq!(r["totals"]["by_status"]["412"], 2);
    assert_eq!(r["totals"]["by_status"]["423"], 2);
    assert_eq!(r["totals"]["by_status"]["428"], 1);

    let res = r["resources"].as_array().unwrap();
    let names: Vec<&str> = res
        .iter()
        .map(|x| x["template"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        vec![
            "/api/v1/docs/{id}",
            "/api/v1/orders/{id}",
            "/api/v1/users/{id}",
            "/api/v1/orders"
        ]
    );
    assert_eq!(res[0]["instances"], 2);
    assert_eq!(res[0]["clients"], 2);
    assert_eq!(res[1]["requests"], 6);

    let inst = &r["instances"][0];
    assert_eq!(
        inst["instance"],
        "/api/v1/docs/3f2504e0-4f89-11d3-9a0c-0305e82c3301"
    );
    assert_eq!(inst["conflicts"], 2);
    // /api/v1/orders/1001: 5 requests (the 31/Feb line is skipped), one conflict, query ignored.
    let o = r["instances"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["instance"] == "/api/v1/orders/1001")
        .unwrap();
    assert_eq!(
        (o["requests"].as_u64(), o["conflicts"].as_u64()),
        (Some(5), Some(1))
    );

    let clients = r["clients"].as_array().unwrap();
    assert_eq!(clients[0]["client"], "10.0.0.6");
    assert_eq!(clients[1]["client"], "2001:db8::42");
    assert_eq!(clients[1]["requests"], 3);
    assert_eq!(r["window_seconds"], 1);
    assert_eq!(r["timeline"].as_array().unwrap().len(), 22);
    // Single, handled or too-few conflicts: no root cause is claimed.
    assert_eq!(r["findings"], serde_json::json!([]));
}

#[test]
fn report_is_identical_for_any_thread_count_and_chunk_size() {
    for f in ["demo/access.log", "basic/access.log"] {
        let p = fixture(f);
        let p = p.to_str().unwrap();
        let reference = why409()
            .args([p, "--output", "json", "--threads", "1"])
            .output()
            .unwrap()
            .stdout;
        assert!(!reference.is_empty());
        for extra in [
            vec![],
            vec!["--threads", "2"],
            vec!["--threads", "3", "--chunk-size", "1"],
            vec!["--chunk-size", "4096"],
            vec!["--chunk-size", "100000"],
            vec!["--chunk-size", "3KiB"],
        ] {
            let out = why409()
                .args([p, "--output", "json"])
                .args(&extra)
                .output()
                .unwrap()
                .stdout;
            assert!(
                out == reference,
                "{f} with {extra:?} differs from --threads 1"
            );
        }
    }
}

/// An IIS log opening with the usual header block (`#Software`, `#Version`, `#Date`,
/// `#Fields`) and restarted mid-file with another field order: every chunk, wherever it
/// starts, reads its lines under the `#Fields` in force (an earlier build found no
/// `#Fields` right after another `#` line, so chunks after the first read lines by shape
/// and lost their user agents and durations).
#[test]
fn w3c_fields_are_in_force_in_every_chunk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("u_ex260302.log");
    let mut log = String::new();
    let header = |fields: &str| {
        format!(
            "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2026-03-02 09:00:00\n#Fields: {fields}\n"
        )
    };
    log += &header(
        "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip sc-status sc-substatus sc-win32-status sc-bytes time-taken cs(User-Agent)",
    );
    let (mut conflicts, mut agents) = (0, 0);
    for k in 0..600 {
        if k == 300 {
            log += &header(
                "date time s-ip cs-method cs-uri-stem cs-uri-query s-port cs-username c-ip cs(User-Agent) sc-bytes sc-status sc-substatus sc-win32-status time-taken",
            );
        }
        let status = if k % 7 == 0 { 409 } else { 200 };
        conflicts += u64::from(status == 409);
        let agent = if k % 3 == 0 { "-" } else { "okhttp/4.9.3" };
        agents += u64::from(agent != "-");
        let (time, path, client) = (
            format!("2026-03-02 09:{:02}:{:02}", k / 60, k % 60),
            format!("/api/v1/orders/{}", k % 40),
            format!("203.0.113.{}", k % 9),
        );
        log += &if k < 300 {
            format!("{time} 10.0.0.5 PUT {path} - 443 - {client} {status} 0 0 412 {k} {agent}\n")
        } else {
            format!("{time} 10.0.0.5 PUT {path} - 443 - {client} {agent} 412 {status} 0 0 {k}\n")
        };
    }
    std::fs::write(&path, &log).unwrap();
    let p = path.to_str().unwrap();
    let reference = json(&[p, "--threads", "1", "--chunk-size", "100000000"]);
    let input = &reference["inputs"][0];
    assert_eq!(input["format"], "w3c");
    assert_eq!(input["parsed"], 600);
    assert_eq!(input["skipped"], 8);
    assert_eq!(reference["totals"]["conflicts"], conflicts);
    // Context lines: every line of a conflicting order; the agents and durations of all.
    let context = &input["context"];
    assert_eq!(context["lines"], 600);
    assert_eq!(context["user_agent"], agents);
    assert_eq!(context["durations"], 600);
    for chunk in ["1", "4096", "30000"] {
        let out = json(&[p, "--threads", "2", "--chunk-size", chunk]);
        assert!(out == reference, "--chunk-size {chunk} differs");
    }
}

#[test]
fn stdin_and_gzip_and_zstd_match_the_plain_file() {
    let p = fixture("demo/access.log");
    let plain = std::fs::read(&p).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let gz = dir.path().join("access.log.gz");
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&gz).unwrap(),
        flate2::Compression::fast(),
    );
    enc.write_all(&plain).unwrap();
    enc.finish().unwrap();
    let zst = dir.path().join("access.log.zst");
    std::fs::write(&zst, zstd::encode_all(&plain[..], 3).unwrap()).unwrap();

    let strip = |mut v: Value| {
        for i in v["inputs"].as_array_mut().unwrap() {
            i["path"] = Value::Null;
        }
        v
    };
    let reference = strip(json(&[p.to_str().unwrap()]));
    assert_eq!(strip(json(&[gz.to_str().unwrap()])), reference);
    assert_eq!(strip(json(&[zst.to_str().unwrap()])), reference);
    let out = why409()
        .args(["-", "--output", "json"])
        .write_stdin(plain.clone())
        .output()
        .unwrap();
    assert_eq!(
        strip(serde_json::from_slice(&out.stdout).unwrap()),
        reference
    );
    // A gzip stream on stdin is decoded too.
    let out = why409()
        .args(["--output", "json"])
        .write_stdin(std::fs::read(&gz).unwrap())
        .output()
        .unwrap();
    assert_eq!(
        strip(serde_json::from_slice(&out.stdout).unwrap()),
        reference
    );
}

/// The report without its inputs' paths (the same text read as a file, a stream or a FIFO).
fn strip(mut v: Value) -> Value {
    for i in v["inputs"].as_array_mut().unwrap() {
        i["path"] = Value::Null;
    }
    v
}

/// The demo log repeated past 3 MiB (more than is kept in memory), in a file of a temporary
/// directory, and its report as a file, `strip`ped.
fn large_demo() -> (tempfile::TempDir, Vec<u8>, Value) {
    let demo = std::fs::read(fixture("demo/access.log")).unwrap();
    let plain = demo.repeat((3 << 20) / demo.len() + 1);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("access.log");
    std::fs::write(&file, &plain).unwrap();
    let reference = strip(json(&[file.to_str().unwrap()]));
    (dir, plain, reference)
}

/// A plain stream past what is kept in memory (1 MiB) is moved into a temporary file by the
/// kernel (`splice`) on Linux, from stdin or from a FIFO named as a path: the report is
/// the file's, every line counted.
#[test]
fn a_large_stream_gives_the_file_report() {
    let (dir, plain, reference) = large_demo();
    let lines = plain.iter().filter(|&&c| c == b'\n').count() as u64;
    assert_eq!(reference["inputs"][0]["lines"].as_u64(), Some(lines));
    let out = why409()
        .args(["-", "--output", "json"])
        .write_stdin(plain.clone())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        strip(serde_json::from_slice(&out.stdout).unwrap()),
        reference
    );
    if cfg!(unix) {
        let fifo = dir.path().join("fifo");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        if made.is_ok_and(|s| s.success()) {
            let writer = {
                let (fifo, plain) = (fifo.clone(), plain.clone());
                std::thread::spawn(move || std::fs::write(fifo, plain))
            };
            let got = strip(json(&[fifo.to_str().unwrap()]));
            writer.join().unwrap().unwrap();
            assert_eq!(got, reference);
        }
    }
}

/// A stdin pipe left non-blocking by its parent, whose writer pauses, is read to its end
/// (it said "try again" when found empty, and the text ended there with a warning).
#[cfg(unix)]
#[test]
fn a_non_blocking_stdin_is_read_to_its_end() {
    use std::os::fd::AsRawFd;
    use std::process::{Command as Std, Stdio};
    let (_dir, plain, reference) = large_demo();
    let (reader, mut writer) = std::io::pipe().unwrap();
    // SAFETY: fcntl on an open descriptor, reading no memory of ours.
    unsafe { libc::fcntl(reader.as_raw_fd(), libc::F_SETFL, libc::O_NONBLOCK) };
    let child = Std::new(assert_cmd::cargo::cargo_bin("why409"))
        .args(["--output", "json", "-"])
        .stdin(reader)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // Pauses before the first byte, within the first MiB and past it.
    for piece in plain.chunks(700_000) {
        std::thread::sleep(std::time::Duration::from_millis(40));
        writer.write_all(piece).unwrap();
    }
    drop(writer);
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert_eq!(stderr, "");
    assert_eq!(
        strip(serde_json::from_slice(&out.stdout).unwrap()),
        reference
    );
}

/// The demo log in Docker's `json-file` envelope (every line escaped into `"log"`) gives
/// the plain file's report, read in one chunk or in many: its conflict lines are found by
/// their digits and its lines unwrapped into each chunk's arena. Only the quoted lines and
/// the inputs differ.
#[test]
fn docker_wrapped_demo_gives_the_plain_report() {
    let plain = std::fs::read_to_string(fixture("demo/access.log")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let docker = dir.path().join("container-json.log");
    let mut text = String::new();
    for (k, line) in plain.lines().enumerate() {
        let envelope = serde_json::json!({
            "log": format!("{line}\n"),
            "stream": "stdout",
            "time": format!("2026-03-02T09:00:00.{k:09}Z"),
        });
        text.push_str(&envelope.to_string());
        text.push('\n');
    }
    std::fs::write(&docker, text).unwrap();
    fn without_quotes(v: &mut Value) {
        match v {
            Value::Object(m) => {
                m.retain(|k, _| k != "text" && k != "inputs");
                m.values_mut().for_each(without_quotes);
            }
            Value::Array(a) => a.iter_mut().for_each(without_quotes),
            _ => {}
        }
    }
    let mut reference = json(&[fixture("demo/access.log").to_str().unwrap()]);
    without_quotes(&mut reference);
    for chunk in ["4096", "100000000"] {
        let mut wrapped = json(&["--chunk-size", chunk, docker.to_str().unwrap()]);
        assert_eq!(wrapped["inputs"][0]["format"], "docker+combined");
        assert_eq!(wrapped["inputs"][0]["parsed"], 3806);
        without_quotes(&mut wrapped);
        assert_eq!(wrapped, reference, "--chunk-size {chunk}");
    }
}

#[test]
fn missing_file_is_a_one_line_error() {
    why409()
        .arg("/nonexistent/access.log")
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("/nonexistent/access.log: cannot open")
                .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
}

/// Compressed input and stdin are decoded into a temporary file, unless small enough to be
/// kept in memory (up to 1 MiB): where the file cannot be made, the error names the input
/// and the directory, and says what chooses it.
#[test]
fn no_room_for_decoded_text_names_the_input_and_tmpdir() {
    let log = std::fs::read(fixture("demo/access.log")).unwrap();
    assert!(log.len() < 1 << 20);
    why409()
        .args(["-", "--output", "json"])
        .env("TMPDIR", "/nonexistent/tmp")
        .write_stdin(log.clone())
        .assert()
        .code(0);
    why409()
        .arg("-")
        .env("TMPDIR", "/nonexistent/tmp")
        .write_stdin(log.repeat((1 << 20) / log.len() + 1))
        .assert()
        .code(2)
        .stdout("")
        .stderr(
            predicate::str::contains("<stdin>: cannot create a temporary file")
                .and(predicate::str::contains(
                    "in /nonexistent/tmp (TMPDIR chooses where)",
                ))
                .and(predicate::function(|s: &str| s.lines().count() == 1)),
        );
}

#[test]
fn random_bytes_name_the_formats_tried_and_quote_line_one() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("junk.bin");
    // Deterministic pseudo-random bytes.
    let mut x: u64 = 0x9E3779B97F4A7C15;
    let bytes: Vec<u8> = (0..8192)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    std::fs::write(&p, bytes).unwrap();
    why409().arg(&p).assert().code(2).stderr(
        predicate::str::contains("not a log format why409 reads (tried: ")
            .and(predicate::str::contains("combined, common"))
            .and(predicate::str::contains("line 1:")),
    );
}

/// A JSON document where a log of one object a line belongs, pretty-printed or an array,
/// is told as such with the `jq` command that reads it; its objects a line are read.
#[test]
fn a_json_document_is_told_with_the_jq_command_that_reads_it() {
    let dir = tempfile::tempdir().unwrap();
    let object = r#"{"remote_addr":"203.0.113.7","time_local":"02/Mar/2026:09:14:05 +0000","request":"PUT /api/v1/orders/1042 HTTP/1.1","status":"409","body_bytes_sent":"157","http_referer":"","http_user_agent":"curl/8.5.0"}"#;
    let value: serde_json::Value = serde_json::from_str(object).unwrap();
    let pretty = dir.path().join("sample.json");
    std::fs::write(&pretty, serde_json::to_string_pretty(&value).unwrap()).unwrap();
    why409().arg(&pretty).assert().code(2).stderr(
        predicate::str::contains(
            "sample.json: a JSON object written over several lines (line 1: \"{\")",
        )
        .and(predicate::str::contains("`jq -c . FILE | why409 -`")),
    );
    let array = dir.path().join("export.json");
    std::fs::write(&array, format!("[{object},{object}]\n")).unwrap();
    why409().arg(&array).assert().code(2).stderr(
        predicate::str::contains("export.json: a JSON array (line 1: ")
            .and(predicate::str::contains("`jq -c '.[]' FILE | why409 -`")),
    );
    // The same object on a line of its own is a log line.
    let log = dir.path().join("access.json");
    std::fs::write(&log, format!("{object}\n")).unwrap();
    let out = why409()
        .args(["--output", "json"])
        .arg(&log)
        .assert()
        .success();
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["inputs"][0]["parsed"], 1, "{report}");
}

/// `why409 /var/log/nginx/` meets the error log and its rotations beside the access logs:
/// they are skipped as what they are, in one line, and the access logs are read; an error
/// log named is an error that says what it is.
#[test]
fn error_logs_beside_the_access_log_are_skipped_as_such() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read_to_string(fixture("demo/access.log")).unwrap();
    let head: String = demo.lines().take(100).map(|l| format!("{l}\n")).collect();
    std::fs::write(dir.path().join("access.log"), head).unwrap();
    let error = "2026/03/02 09:14:05 [error] 1234#1234: *5678 upstream timed out (110: Connection timed out) while reading response header from upstream, client: 203.0.113.7, server: api.example.com, request: \"PUT /api/v1/orders/1042 HTTP/1.1\"\n";
    std::fs::write(dir.path().join("error.log"), error).unwrap();
    std::fs::write(dir.path().join("error.log.1"), error).unwrap();
    // Apache's mod_ssl request log, beside its access log, has no status.
    let ssl = "[02/Mar/2026:09:14:05 +0000] 203.0.113.7 TLSv1.3 TLS_AES_256_GCM_SHA384 \"PUT /api/v1/orders/1042 HTTP/1.1\" 157\n";
    std::fs::write(dir.path().join("ssl_request_log"), ssl).unwrap();
    // Documentation samples, pretty-printed.
    for doc in ["doc1.json", "doc2.json"] {
        std::fs::write(dir.path().join(doc), "{\n  \"status\": 409\n}\n").unwrap();
    }
    let out = why409()
        .args(["--output", "json"])
        .arg(dir.path())
        .assert()
        .success();
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).into_owned();
    let at = |f: &str| dir.path().join(f).display().to_string();
    let warning = format!(
        "why409: skipped 2 JSON objects written over several lines, where a log has one object a line (`jq -c . FILE | why409 -` reads one): {}, {}\n\
         why409: skipped 2 nginx error logs, not access logs: {}, {}\n\
         why409: skipped {}: an Apache mod_ssl request log (ssl_request_log), which logs no status (line 1: \"{}\"), the access log beside it has the statuses\n",
        at("doc1.json"),
        at("doc2.json"),
        at("error.log"),
        at("error.log.1"),
        at("ssl_request_log"),
        ssl.trim_end(),
    );
    assert_eq!(stderr, warning);
    let report: serde_json::Value = serde_json::from_slice(&out.get_output().stdout).unwrap();
    assert_eq!(report["inputs"].as_array().unwrap().len(), 1, "{report}");
    assert_eq!(report["inputs"][0]["parsed"], 100, "{report}");
    why409()
        .arg(dir.path().join("error.log"))
        .assert()
        .code(2)
        .stderr(format!(
            "why409: {}: an nginx error log, not an access log (line 1: \"{}\")\n",
            at("error.log"),
            &error[..120]
        ));
}

/// A W3C log whose lines no format reads (an FTP service's, its methods `[2]USER`) is told
/// by its first line under the header, not by the header; named as W3C, by its first line
/// skipped for what it holds, with the lines skipped for each reason.
#[test]
fn a_w3c_log_not_read_is_told_by_its_lines_not_its_header() {
    let dir = tempfile::tempdir().unwrap();
    let ftp = dir.path().join("ftp.log");
    let text = "#Software: Microsoft Internet Information Services 10.0\n#Version: 1.0\n#Date: 2026-03-02 09:00:00\n#Fields: time c-ip cs-method cs-uri-stem sc-status\n09:00:01 203.0.113.7 [1]USER anonymous 331\n09:00:02 203.0.113.7 [1]PASS - 230\n\n09:00:05 203.0.113.7 [1]QUIT - 226\n";
    let sent: String = (0..6)
        .map(|k| format!("09:01:0{k} 203.0.113.8 [2]sent /pub/f{k}.txt 226\n"))
        .collect();
    std::fs::write(&ftp, format!("{text}{sent}")).unwrap();
    let shown = "; line 5: \"09:00:01 203.0.113.7 [1]USER anonymous 331\" (name the format with --format, or an nginx layout with --log-format)\n";
    why409()
        .arg(&ftp)
        .assert()
        .code(2)
        .stderr(predicate::str::ends_with(shown));
    why409()
        .args(["--format", "w3c"])
        .arg(&ftp)
        .assert()
        .code(2)
        .stderr(format!(
            "why409: {}: no line could be read as 'w3c' (14 lines, all skipped: 4 header_or_comment, 9 bad_timestamp, 1 blank_line); line 5 (bad_timestamp): \"09:00:01 203.0.113.7 [1]USER anonymous 331\"\n",
            ftp.display()
        ));
}

/// A tar of logs (a support bundle, a rotated set kept as one file), gzipped or not, named
/// or piped, or a zip of them, is read as the files it holds: the same findings and totals as those files in a
/// directory, each file an input named `ARCHIVE:MEMBER` as archived, what is not a log skipped
/// with a warning, hidden files left out; an evidence line is that member's line.
#[test]
fn a_tar_or_zip_is_read_as_the_logs_it_holds() {
    let demo = std::fs::read(fixture("demo/access.log")).unwrap();
    let at = memchr::memchr_iter(b'\n', &demo).nth(1999).unwrap() + 1;
    let older = demo[..at].to_vec();
    let newer = gzip(&demo[at..]);
    let readme = b"Support bundle of 2026-03-02\n".to_vec();
    let files = [
        ("logs/access.log.1", &older),
        ("logs/access.log.gz", &newer),
        ("logs/.access.log.swp", &older),
        ("README", &readme),
    ];
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain");
    std::fs::create_dir_all(plain.join("logs")).unwrap();
    for (path, text) in files {
        std::fs::write(plain.join(path), text).unwrap();
    }
    let files = files.map(|(path, text)| (path, text.as_slice()));
    let tar = tar_of(&files);
    std::fs::write(dir.path().join("bundle.tar"), &tar).unwrap();
    std::fs::write(dir.path().join("bundle.tgz"), gzip(&tar)).unwrap();
    let zip = zip_of(&files, zip::CompressionMethod::DEFLATE);
    std::fs::write(dir.path().join("bundle.zip"), zip).unwrap();

    let json = |args: &[&std::path::Path], stdin: Option<Vec<u8>>| {
        let mut cmd = why409();
        cmd.args(args).args(["--recursive", "--output", "json"]);
        if let Some(stdin) = stdin {
            cmd.write_stdin(stdin);
        }
        let out = cmd.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{out:?}");
        let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        (r, String::from_utf8(out.stderr).unwrap())
    };
    let (expected, _) = json(&[&plain], None);
    assert_eq!(expected["totals"]["requests"], 3806);
    assert_eq!(expected["totals"]["conflicts"], 193);
    let cases = [
        ("bundle.tar", None),
        ("bundle.tgz", None),
        ("bundle.zip", None),
        ("<stdin>", Some(gzip(&tar))),
    ];
    for (name, stdin) in cases {
        let path = match stdin {
            Some(_) => std::path::PathBuf::from("-"),
            None => dir.path().join(name),
        };
        let (r, stderr) = json(&[&path], stdin);
        let shown = match name {
            "<stdin>" => name.to_string(),
            _ => path.display().to_string(),
        };
        let inputs: Vec<&str> = (r["inputs"].as_array().unwrap().iter())
            .map(|i| i["path"].as_str().unwrap())
            .collect();
        let members = [
            format!("{shown}:logs/access.log.1"),
            format!("{shown}:logs/access.log.gz"),
        ];
        assert_eq!(inputs, members, "{name}");
        for key in ["totals", "findings", "unexplained", "resources", "clients"] {
            assert_eq!(r[key], expected[key], "{name}: {key}");
        }
        assert_eq!(
            stderr.lines().collect::<Vec<_>>(),
            [format!(
                "why409: skipped {shown}:README: not a log format why409 reads (tried: {}",
                stderr.split("(tried: ").nth(1).unwrap().trim_end()
            )],
            "{name}"
        );
        // The first evidence line is that line of that member.
        let ev = &r["findings"][0]["evidence"][0];
        let input = ev["input"].as_u64().unwrap() as usize;
        let text = [&demo[..at], &demo[at..]][input];
        let line = ev["line"].as_u64().unwrap() as usize;
        let want = text.split(|&b| b == b'\n').nth(line - 1).unwrap();
        assert_eq!(ev["text"].as_str().unwrap().as_bytes(), want, "{name}");
    }
    // The command that reads the files again names the archive, not its members.
    let zip = dir.path().join("bundle.zip");
    let out = why409().arg(&zip).output().unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    let again = format!("why409 explain {} --instance ", zip.display());
    assert!(stdout.contains(&again), "{stdout}");
}

/// A file in a directory that cannot be decoded is skipped with a warning that names it
/// once, and the logs beside it are read.
#[test]
fn a_broken_file_in_a_directory_is_skipped_and_named_once() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("demo/access.log"), dir.path().join("access.log")).unwrap();
    let broken = dir.path().join("access.log.1.gz");
    std::fs::write(&broken, b"\x1f\x8b\x08\x00garbage, not deflate data").unwrap();
    let out = why409().arg(dir.path()).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(
        stderr.trim_end(),
        format!(
            "why409: skipped {}: cannot decode: gzip: corrupt deflate stream",
            broken.display()
        )
    );
}

/// A named `.gz` cut inside its first line decodes to too little to tell its format: the
/// error says so with where its text stops, since the damage warning is never shown.
#[test]
fn a_log_cut_too_short_to_tell_says_where_it_stops() {
    let demo = std::fs::read(fixture("demo/access.log")).unwrap();
    let gz = gzip(&demo);
    let dir = tempfile::tempdir().unwrap();
    let cut = dir.path().join("cut.log.gz");
    std::fs::write(&cut, &gz[..60]).unwrap();
    // What decodes before the cut, as `zcat` prints it.
    let mut zcat = Vec::new();
    let cut_short = flate2::read::GzDecoder::new(&gz[..60]).read_to_end(&mut zcat);
    assert!(cut_short.is_err() && !zcat.is_empty() && !zcat.contains(&b'\n'));
    let out = why409().arg(&cut).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    let stops = format!(
        "; its data is damaged: its text stops at byte {} (the compressed data ends early)",
        zcat.len()
    );
    assert!(
        stderr.contains("cut.log.gz: not a log format why409 reads")
            && stderr.trim_end().ends_with(&stops),
        "{stderr}"
    );
}

/// An empty file, or one of blank lines only, is an empty report (exit 0), its blank
/// lines counted as skipped.
#[test]
fn empty_file_gives_an_empty_report_and_exit_0() {
    let dir = tempfile::tempdir().unwrap();
    for (name, text, lines, said) in [
        ("empty.log", &b""[..], 0, "empty"),
        ("blank.log", b"\n  \n\t\r\n", 3, "only blank lines"),
    ] {
        let p = dir.path().join(name);
        std::fs::write(&p, text).unwrap();
        let out = why409()
            .arg(&p)
            .args(["--output", "json"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0));
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        let input = &r["inputs"][0];
        assert_eq!(input["lines"], lines, "{name}");
        assert_eq!(input["skipped"], lines, "{name}");
        assert_eq!(
            input["skip_reasons"]["blank_line"].as_u64().unwrap_or(0),
            lines,
            "{name}"
        );
        assert_eq!(input["format"], "empty");
        assert_eq!(r["totals"]["requests"], 0);
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            format!("why409: {}: {said}, nothing to analyse\n", p.display())
        );
    }
}

/// A log that opens with more blank lines than format detection samples is still read
/// whole (it was called empty and its requests dropped).
#[test]
fn leading_blank_lines_are_skipped_not_taken_for_an_empty_file() {
    let dir = tempfile::tempdir().unwrap();
    let demo = std::fs::read(fixture("demo/access.log")).unwrap();
    let p = dir.path().join("padded.log");
    let mut padded = b" \n\t\r\n\n".repeat(100);
    padded.extend_from_slice(&demo);
    std::fs::write(&p, &padded).unwrap();
    let r = json(&[p.to_str().unwrap()]);
    let plain = json(&[fixture("demo/access.log").to_str().unwrap()]);
    let input = &r["inputs"][0];
    assert_eq!(input["format"], "combined");
    assert_eq!(input["skip_reasons"]["blank_line"], 300);
    assert_eq!(input["parsed"], plain["inputs"][0]["parsed"]);
    assert_eq!(r["totals"], plain["totals"]);
    assert_eq!(r["findings"].as_array().unwrap().len(), 8);
}

/// A log that opens with lines of something else (a banner) is detected from its middle,
/// the other lines counted as malformed; a file of text that is no log names its first line
/// with text by number.
#[test]
fn a_banner_before_the_log_is_skipped_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("banner.log");
    let mut data: Vec<u8> = (1..=100)
        .flat_map(|i| format!("=== banner line {i} ===\n").into_bytes())
        .collect();
    data.extend_from_slice(&std::fs::read(fixture("demo/access.log")).unwrap());
    std::fs::write(&p, &data).unwrap();
    let r = json(&[p.to_str().unwrap()]);
    let plain = json(&[fixture("demo/access.log").to_str().unwrap()]);
    assert_eq!(r["inputs"][0]["format"], "combined");
    assert_eq!(r["inputs"][0]["skip_reasons"]["malformed_line"], 100);
    assert_eq!(r["inputs"][0]["skip_examples"][0]["line"], 1);
    assert_eq!(r["totals"], plain["totals"]);

    let text = dir.path().join("notes.txt");
    std::fs::write(&text, b"\n\nhello world\n").unwrap();
    why409()
        .arg(&text)
        .assert()
        .code(2)
        .stderr(predicate::str::contains("line 3: \"hello world\""));
}

#[test]
fn directories_read_their_files_and_reject_emptiness() {
    let dir = tempfile::tempdir().unwrap();
    why409()
        .arg(dir.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no files to read"));
    // A directory with a log and a non-log file: the log is analysed, the other skipped.
    std::fs::copy(fixture("basic/access.log"), dir.path().join("access.log")).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "just some notes\n").unwrap();
    let out = why409()
        .arg(dir.path())
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("notes.txt"));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["totals"]["conflicts"], 8);
    // Only non-logs: an error.
    let only = tempfile::tempdir().unwrap();
    std::fs::write(only.path().join("notes.txt"), "just some notes\n").unwrap();
    why409()
        .arg(only.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("no input could be read"));
}

/// A file's name with a newline or an ESC in it (legal on Linux, and an archive member's
/// name can hold anything) is shown escaped in messages: each message stays one line, and
/// the name cannot drive the terminal.
#[test]
fn names_with_control_characters_are_escaped_in_messages() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(fixture("basic/access.log"), dir.path().join("access.log")).unwrap();
    let odd = dir.path().join("notes\n\x1b[2Jhere.txt");
    std::fs::write(&odd, "just some notes\n").unwrap();
    // Skipped among others: a warning.
    let out = why409()
        .arg(dir.path())
        .args(["--output", "json"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("notes\\x0a\\x1b[2Jhere.txt"), "{err}");
    assert!(!err.contains('\x1b'), "{err}");
    // Named alone: the error.
    let out = why409().arg(&odd).output().unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert!(err.starts_with("why409: "), "{err}");
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("notes\\x0a\\x1b[2Jhere.txt: not a log format"),
        "{err}"
    );
}

#[test]
fn nasty_lines_never_crash() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("nasty.log");
    let mut data = Vec::new();
    data.extend_from_slice(
        b"203.0.113.9 - - [02/Mar/2026:09:00:00 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"x\"\n",
    );
    data.extend_from_slice(&vec![b'A'; 1 << 20]); // a 1 MiB line
    data.push(b'\n');
    data.extend_from_slice(b"\x00\x01\x02\xff\xfe\n");
    data.extend_from_slice(b"203.0.113.9 - - [02/Mar/2026:09:00:01 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"unterminated\n");
    data.extend_from_slice(b"203.0.113.9 - - [02/Mar/2026:09:00:02 +0000] \"PUT /a/\xc3\x28 HTTP/1.1\" 409 0 \"-\" \"bad utf8 \xff\"\n");
    data.extend_from_slice(b"203.0.113.9 - - [02/Mar/2026:09:00:0"); // truncated last line
    std::fs::write(&p, &data).unwrap();
    let r = json(&[p.to_str().unwrap()]);
    let i = &r["inputs"][0];
    assert_eq!(i["lines"], 6);
    // The line cut inside its user agent still counts; the truncated last line does not.
    assert_eq!(i["parsed"], 3);
    assert_eq!(i["skip_reasons"]["line_too_long"], 1);
    assert_eq!(i["skipped"], 3);
    assert_eq!(r["totals"]["conflicts"], 3);
}

/// Lines too long to read opening a log are skipped, not taken for its format; a log of
/// nothing else is told as such, by its name and first line.
#[test]
fn logs_opening_with_lines_too_long_to_read() {
    let dir = tempfile::tempdir().unwrap();
    let long = format!(
        "203.0.113.9 - - [02/Mar/2026:09:00:00 +0000] \"PUT /a/{} HTTP/1.1\" 409 0 \"-\" \"x\"\n",
        "x".repeat(300 * 1024)
    );
    let short =
        "203.0.113.9 - - [02/Mar/2026:09:00:01 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"x\"\n";
    let p = dir.path().join("opens_long.log");
    std::fs::write(&p, format!("\n{}{short}{short}", long.repeat(3))).unwrap();
    let r = json(&[p.to_str().unwrap()]);
    let i = &r["inputs"][0];
    assert_eq!(i["format"], "combined");
    assert_eq!(i["lines"], 6);
    assert_eq!(i["parsed"], 2);
    assert_eq!(i["skip_reasons"]["line_too_long"], 3);
    assert_eq!(i["skip_reasons"]["blank_line"], 1);
    assert_eq!(r["totals"]["conflicts"], 2);

    // Refused with exit code 2 and a message saying `says`, no panic.
    let refused = |args: &[&str], path: &std::path::Path, says: &str| {
        why409()
            .args(args)
            .arg(path)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says))
            .stderr(predicate::str::contains("panicked").not());
    };
    let only = dir.path().join("only_long.log");
    std::fs::write(&only, format!("\n{}", long.repeat(3))).unwrap();
    let says = format!(
        "{}: no line to tell its format by: every line from line 2 on",
        only.display()
    );
    refused(&[], &only, &says);
    refused(
        &[],
        &only,
        "line 2: \"203.0.113.9 - - [02/Mar/2026:09:00:00 +0000]",
    );
    // A sparse file of zero bytes (40 MiB, more than a sample looks through) is told as
    // such, without reading it all.
    let zeros = dir.path().join("zeros.log");
    std::fs::File::create(&zeros)
        .unwrap()
        .set_len(40 << 20)
        .unwrap();
    let says = format!(
        "{}: nothing but zero bytes from line 1 on, as far as 16 MiB in",
        zeros.display()
    );
    refused(&[], &zeros, &says);
    // The format named, the lines are counted as skipped: still nothing read.
    let says = "no line could be read as 'combined' (4 lines, all skipped: 1 blank_line, 3 line_too_long); line 2 (line_too_long)";
    refused(&["--format", "combined"], &only, says);
}

#[test]
fn table_output_has_every_section_and_no_colour_when_piped() {
    let p = fixture("basic/access.log");
    let out = why409().arg(&p).output().unwrap();
    assert!(out.status.success());
    let s = String::from_utf8(out.stdout).unwrap();
    for section in [
        "Root causes",
        "Overview",
        "Top resources by conflicts",
        "Top instances by conflicts",
        "Top clients by conflicts",
        "Timeline (1s windows, UTC; 2026-03-02)",
        "Skipped lines",
    ] {
        assert!(s.contains(section), "missing section {section}");
    }
    assert!(!s.contains('\x1b'), "colour codes in piped output");
    // --color always colours, NO_COLOR does not override an explicit request.
    let out = why409()
        .arg(&p)
        .args(["--color", "always"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains('\x1b'));
    // COLUMNS fits tables to the width; from 80 columns on, cause names stay whole (a
    // narrower terminal drops the advice column first: each finding's section gives it).
    let causes: Vec<String> = json(&[fixture("demo/access.log").to_str().unwrap()])["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["cause"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(causes.len(), 8);
    // The log is named relative to the checkout: an evidence location (`PATH:LINE:`) is
    // never cut, so it can be copied or clicked, and a long checkout path would be wider
    // than 50 columns by itself (checked below).
    for width in [50, 80, 100, 120, 140, 160] {
        let s = table_in_checkout("fixtures/demo/access.log", width);
        let widest = s.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= width, "a line is {widest} wide at {width}");
        let table = &s[..s.find("\n#1 ").unwrap()];
        if width >= 80 {
            for c in &causes {
                assert!(table.contains(&format!("│ {c} ")), "{c} cut at {width}");
            }
            assert!(s.contains("│ /api/v1/orders/{id}/cancel "), "{width}");
            // Every finding on the log's one day: the heading names it, the rows give
            // times, and the names keep the room (at 80 the clients column goes first).
            assert!(table.contains("Root causes (2026-03-02)\n"), "{width}");
            assert!(table.contains("┆ /api/v1/inventory/94017 "), "{width}");
            assert!(table.contains("┆ 09:35:00 →"), "{width}");
            assert!(!table.contains("┆ 2026-03-02"), "{width}");
            // The two times on one line wherever that hides no column and leaves the names
            // their room (at 100 the advice is gone); at 140 and 160, where the advice makes
            // rows tall, they part rather than cut names that parting keeps whole.
            if width == 100 {
                assert!(table.contains("┆ 09:35:00 → 09:59:58 "), "{width}: {table}");
                assert!(table.contains("│ deploy_regression    ┆ /api/v1/carts/{id} "));
            }
            if width >= 140 {
                assert!(table.contains("┆ 09:35:00 → ┆"), "{width}: {table}");
                assert!(
                    table.contains("┆ /api/v1/orders/{id}/cancel "),
                    "{width}: {table}"
                );
            }
            if width >= 160 {
                let uuid = "┆ /api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b ┆";
                assert!(table.contains(uuid), "{width}: {table}");
            }
        }
        // At 50 the table is written as records, which show every column.
        let advised = width >= 120 || width == 50;
        assert_eq!(table.contains("what to change"), advised, "{width}");
        // A logged line folds under its location: its request and status show at any width.
        assert!(s.contains("HTTP/1.1\" 409 219"), "{width}: {s}");
        // The timeline's windows, all on that day, as times.
        assert!(
            s.contains("\nTimeline (30s windows, UTC; 2026-03-02)\n"),
            "{width}"
        );
        let window = s.lines().find(|l| l.starts_with("│ 09:03:00 ")).unwrap();
        assert!(
            window.contains(" ┆       35 ┆         1 ┆ █"),
            "{width}: {window}"
        );
        // The unexplained conflicts' first lines, where there is room for them: whole.
        let cells = (s.lines()).filter(|l| l.contains("┆ fixtures/demo/access.log:"));
        let lines: Vec<&str> = cells
            .map(|l| l.split("access.log:").nth(1).unwrap())
            .map(|rest| rest.split(' ').next().unwrap())
            .collect();
        let shown = s.contains("┆ first line");
        assert_eq!(lines.len(), if shown { 6 } else { 0 }, "{width}: {lines:?}");
        assert_eq!(shown, width >= 120, "{width}");
        for line in lines {
            let known = ["1807", "2661", "1121", "3383", "202", "1442"];
            assert!(known.contains(&line), "{width}: {line}");
        }
    }
    // A path wider than the terminal: its locations stay whole on lines of their own, and
    // everything else, the logged line below each location included, still fits.
    let dir = tempfile::Builder::new()
        .prefix("a-directory-whose-name-alone-is-wider-than-fifty-columns-")
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"))
        .unwrap();
    let long = dir.path().join("access.log");
    std::fs::copy(fixture("demo/access.log"), &long).unwrap();
    let long = long.to_str().unwrap();
    let out = why409().arg(long).env("COLUMNS", "50").output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    let location = format!("    {long}:");
    let located: Vec<&str> = s.lines().filter(|l| l.starts_with(&location)).collect();
    assert!(located.len() >= 5, "{s}");
    for l in &located {
        let line = &l[location.len()..l.len() - 1];
        assert!(l.ends_with(':') && line.parse::<u64>().is_ok(), "{l}");
    }
    let widest = s.lines().filter(|l| !l.starts_with(&location));
    let widest = widest.map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 50, "a line is {widest} wide at 50");
}

/// The demo log dated a day later, written in `dir`.
fn demo_a_day_later(dir: &std::path::Path) -> std::path::PathBuf {
    let demo = std::fs::read_to_string(fixture("demo/access.log")).unwrap();
    let next = dir.join("access.log");
    std::fs::write(&next, demo.replace("[02/Mar/2026:", "[03/Mar/2026:")).unwrap();
    next
}

/// `explain` of `instance` in the demo log at `width` columns: what it prints.
fn explain_demo(instance: &str, width: usize) -> String {
    let out = why409()
        .args(["explain", "--instance", instance])
        .arg(fixture("demo/access.log"))
        .env("COLUMNS", width.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{instance} at {width}");
    String::from_utf8(out.stdout).unwrap()
}

/// The table report of `path`, named relative to the checkout (a long checkout path would
/// take the width the test is about), at `width` columns.
fn table_in_checkout(path: &str, width: usize) -> String {
    let out = why409()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .arg(path)
        .env("COLUMNS", width.to_string())
        .output()
        .unwrap();
    assert!(out.status.success(), "{path} at {width}");
    String::from_utf8(out.stdout).unwrap()
}

/// A span's cell tells seconds when its times are a second or more apart (the start of a
/// request worked out from its logged duration, `09:00:02.958`, would be noise), and keeps
/// the digits of a shorter one; JSON keeps every digit.
#[test]
fn table_spans_are_told_to_the_second() {
    let s = table_in_checkout("fixtures/formats/scenario.combined.log", 200);
    assert!(s.contains("┆ 09:00:02 → 09:00:05 "), "{s}");
    assert!(s.contains("┆ 09:00:20.993 → 09:00:21.000 ┆"), "{s}");
    assert!(!s.contains("09:00:02.958"), "{s}");
    let p = fixture("formats/scenario.combined.log");
    let r = json(&[p.to_str().unwrap()]);
    let first = (r["unexplained"].as_array().unwrap().iter())
        .map(|u| u["first_conflict"].as_str().unwrap())
        .collect::<Vec<_>>();
    assert!(first.contains(&"2026-03-02T09:00:02.958Z"), "{first:?}");
}

/// A summary's times say their day in a log of several days: the first dated, a later one
/// only where the day changes; in a log of one day, times of day (the heading names it).
#[test]
fn summaries_date_their_first_time_in_a_log_of_several_days() {
    let dir = tempfile::tempdir().unwrap();
    let next = demo_a_day_later(dir.path());
    let summaries = |two_days: bool| -> Vec<String> {
        let mut cmd = why409();
        cmd.arg(fixture("demo/access.log"));
        if two_days {
            cmd.arg(&next);
        }
        let r = common::report(&mut cmd);
        (r["findings"].as_array().unwrap().iter())
            .map(|f| f["summary"].as_str().unwrap().to_string())
            .collect()
    };
    let said = |all: &[String], text: &str| all.iter().any(|s| s.contains(text));
    let (one, two) = (summaries(false), summaries(true));
    for (one_day, two_days) in [
        (
            "between 09:06:04 and 09:07:03 (59s)",
            "between 2026-03-02 09:06:04 and 09:07:03 (59s)",
        ),
        (
            "from 09:37:30 for 7m (released 09:44:30); 11 attempts by 3 clients got 423 \
             between 09:38:22 and 09:44:11.",
            "from 2026-03-02 09:37:30 for 7m (released 09:44:30); 11 attempts by 3 clients got \
             423 between 09:38:22 and 09:44:11.",
        ),
        (
            "at 09:12:09, after its last read at 09:05:56, and 198.51.100.22 did not re-read \
             until 09:17:38.",
            "at 2026-03-02 09:12:09, after its last read at 09:05:56, and 198.51.100.22 did \
             not re-read until 09:17:38.",
        ),
        (
            "returned 202 at 09:30:07 (198.51.100.51); then 12 writes",
            "returned 202 at 2026-03-02 09:30:07 (198.51.100.51); then 12 writes",
        ),
        (
            "successful write at 09:30:40, 33s later.",
            "successful write at 09:30:40, 33s later.",
        ),
    ] {
        assert!(said(&one, one_day), "{one_day}: {one:#?}");
        assert!(said(&two, two_days), "{two_days}: {two:#?}");
    }
    // A span of two days dates both ends.
    assert!(
        said(
            &two,
            "from 2026-03-02 09:24:11 to 2026-03-03 09:24:18 (80 conflicts)"
        ),
        "{two:#?}"
    );
}

/// Tables whose rows lie on more than one day keep each row's date, and their headings name
/// none: the demo's hour, and the same hour a day later in a second file.
#[test]
fn rows_on_several_days_keep_their_dates() {
    let dir = tempfile::tempdir().unwrap();
    let next = demo_a_day_later(dir.path());
    let out = why409()
        .arg(fixture("demo/access.log"))
        .arg(&next)
        .env("COLUMNS", "160")
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.starts_with("\nRoot causes\n"), "{s}");
    assert!(s.contains("\nTop instances by conflicts\n"), "{s}");
    let row = (s.lines())
        .find(|l| l.starts_with("│ /api/v1/orders/9310442 "))
        .unwrap();
    assert!(
        row.contains("┆ 2026-03-02 09:24:11 → 2026-03-03 09:24:18 "),
        "{row}"
    );
    // The timeline's windows too, dated where the day changes, and its run of empty
    // windows between the days.
    assert!(s.contains("\nTimeline (15m windows, UTC)\n"), "{s}");
    assert!(
        s.contains("\n│ 2026-03-03 09:00:00 ┆     1084 ┆        39 ┆ ███"),
        "{s}"
    );
    assert!(
        s.contains("\n│            09:15:00 ┆      899 ┆        51 ┆ ███"),
        "{s}"
    );
    assert!(
        s.contains("┆ (92 empty windows, the last from 2026-03-03 08:45:00) │"),
        "{s}"
    );
    // The findings' sentences date a span of days: a day does not read as seconds.
    let r = json(&[
        fixture("demo/access.log").to_str().unwrap(),
        next.to_str().unwrap(),
    ]);
    let summary = |cause: &str| {
        let findings = r["findings"].as_array().unwrap();
        let f = findings.iter().find(|f| f["cause"] == cause).unwrap();
        f["summary"].as_str().unwrap().to_string()
    };
    assert!(
        summary("retry_storm").contains(" First attempt at 2026-03-02 09:24:11. "),
        "{}",
        summary("retry_storm")
    );
    assert!(
        summary("retry_storm").ends_with(
            " It happened 2 times in all, from 2026-03-02 09:24:11 to 2026-03-03 09:24:18 (80 conflicts); the first is described."
        ),
        "{}",
        summary("retry_storm")
    );
    assert!(
        summary("state_transition")
            .contains(" between 2026-03-02 09:42:32 and 2026-03-03 09:55:03;"),
        "{}",
        summary("state_transition")
    );
}

/// Each finding's advice starts with one arrow; its other lines hang under its first word.
#[test]
fn advice_has_one_arrow() {
    let out = why409()
        .arg(fixture("demo/access.log"))
        .env("COLUMNS", "100")
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    let advice: Vec<&str> = s.split("\n  → ").skip(1).collect();
    assert_eq!(advice.len(), 3, "{s}");
    for a in advice {
        let lines: Vec<&str> = a.split("\n\n").next().unwrap().lines().collect();
        assert!(lines.len() > 1, "{a}");
        assert!(
            lines[1..]
                .iter()
                .all(|l| l.starts_with("    ") && !l.contains('→')),
            "{a}"
        );
    }
}

/// The values labelled `label` (or a label starting with it) in the records of `text` (a
/// table too narrow for its columns is written a record a row), each its lines trimmed, one
/// a record: a value's lines after its first start where it does.
fn record_values(text: &str, label: &str) -> Vec<Vec<String>> {
    let mut values: Vec<Vec<String>> = Vec::new();
    // Inside a record; the column where the value being read starts.
    let (mut inside, mut at) = (false, None);
    for line in text.lines() {
        if line.starts_with("── ") {
            (inside, at) = (true, None);
            values.push(Vec::new());
            continue;
        }
        if line.starts_with('─') || !inside {
            inside = false;
            continue;
        }
        let cells = values.last_mut().unwrap();
        let indent = line.chars().take_while(|&c| c == ' ').count();
        match line.trim_start().split_once("  ") {
            Some((name, value)) if indent == 2 && name.starts_with(label) => {
                let value = value.trim_start();
                at = Some(line.chars().count() - value.chars().count());
                cells.push(value.to_string());
            }
            _ if at == Some(indent) => cells.push(line.trim().to_string()),
            _ => at = None,
        }
    }
    values
}

/// Times are never cut: in the root causes and in `explain`, at any width, a line of a
/// time cell holds whole dates, times and arrows (a span of two days is whole, the start
/// above the end, or each date and time a line), and the cell's lines read back as its
/// time. A table too narrow for its columns is written as records, whose times part only
/// after their arrow.
#[test]
fn times_are_never_cut() {
    let dir = tempfile::tempdir().unwrap();
    let next = demo_a_day_later(dir.path());
    let whole = |word: &str| {
        let digits = |s: &str| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit());
        let date = word.len() == 10 && word.split('-').count() == 3;
        let time = word.split(':').count() == 3 && word.split(':').take(2).all(digits);
        word == "→" || date || time
    };
    // The cells of the column headed `name`, each its lines trimmed; a row starts where
    // the column headed `key` (a short word or number, one line) has text. Headers are
    // found by their first three letters (a narrow table parts them).
    let column = |table: &str, name: &str, key: &str| -> Vec<Vec<String>> {
        if !table.contains('╞') {
            return record_values(table, name);
        }
        let lines: Vec<&str> = table.lines().filter(|l| l.starts_with('│')).collect();
        let header = lines.iter().position(|l| l.contains(name)).unwrap();
        let at = |name: &str| {
            (lines[header].split(['│', '┆']))
                .position(|c| c.trim().starts_with(&name[..3]))
                .unwrap()
        };
        let (at, key) = (at(name), at(key));
        let body = table.split_once('╞').unwrap().1;
        let mut cells: Vec<Vec<String>> = Vec::new();
        for row in body.lines().filter(|l| l.starts_with('│')) {
            let parts: Vec<&str> = row.split(['│', '┆']).collect();
            if !parts[key].trim().is_empty() {
                cells.push(Vec::new());
            }
            let text = parts[at].trim().to_string();
            if !text.is_empty() {
                cells.last_mut().unwrap().push(text);
            }
        }
        cells
    };
    let span = "2026-03-02 09:24:11 → 2026-03-03 09:24:18";
    for width in (50..=200).step_by(10) {
        // The two days' report, or `explain` on one order of theirs, at `width`.
        let run = |explain: &[&str]| {
            let out = why409()
                .args(explain)
                .arg(fixture("demo/access.log"))
                .arg(&next)
                .env("COLUMNS", width.to_string())
                .output()
                .unwrap();
            String::from_utf8(out.stdout).unwrap()
        };
        let s = run(&[]);
        let table = &s[..s.find("\n#1 ").unwrap()];
        let cells = column(table, "when", "conflicts");
        assert_eq!(cells.len(), 7, "{width}: {table}");
        for cell in &cells {
            assert!(
                cell.iter().flat_map(|l| l.split(' ')).all(whole),
                "{width}: {cell:?}\n{table}"
            );
        }
        assert!(
            cells.iter().any(|c| c.join(" ") == span),
            "{width}: {table}"
        );
        let s = run(&["explain", "--instance", "/api/v1/orders/9310442"]);
        let cells = column(&s, "start", "method");
        assert_eq!(cells.len(), 84, "{width}: {s}");
        for cell in &cells {
            assert!(cell.len() <= 2, "{width}: {cell:?}");
            assert!(
                cell.iter().flat_map(|l| l.split(' ')).all(whole),
                "{width}: {cell:?}"
            );
        }
        assert_eq!(cells[0].join(" "), "2026-03-02 09:23:30", "{width}: {s}");
        // Records at the narrowest: the root causes' spans, and explain's rows.
        if width == 50 {
            assert!(table.contains("\n── 1 of 7 ─"), "{table}");
            assert!(s.contains("\n── 84 of 84 ─"), "{s}");
        }
    }
}

/// A table whose names and numbers cannot all have their width is written as records, a
/// row a block of labelled values: at 50 columns the demo's causes, paths and clients are
/// whole (the table cut them mid-word, `deploy_re` / `gression`, and headers `cli` / `ent`),
/// and no line is wider than the terminal; at 80 the tables stay tables.
#[test]
fn narrow_tables_are_written_as_records() {
    let s = table_in_checkout("fixtures/demo/access.log", 50);
    let causes = &s[..s.find("\n#1 ").unwrap()];
    let names: Vec<String> = record_values(causes, "cause").concat();
    assert_eq!(
        names,
        [
            "deploy_regression",
            "retry_storm",
            "hot_spot_edit",
            "state_transition",
            "in_progress_conflict",
            "lock_contention",
            "stale_version",
            "duplicate_create"
        ],
        "{causes}"
    );
    let resources: Vec<String> = (record_values(causes, "resource").iter())
        .map(|lines| lines.concat())
        .collect();
    assert!(
        resources.contains(&"/api/v1/docs/b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b".to_string()),
        "{causes}"
    );
    // A record shows every column the widest table would, not only those the narrowest
    // table kept: the clients, the confidence and the advice's lead as well.
    let clients: Vec<String> = record_values(causes, "clients").concat();
    assert_eq!(
        clients,
        ["24", "2", "10", "6", "4", "4", "2", "1"],
        "{causes}"
    );
    assert_eq!(record_values(causes, "conf.").len(), 8, "{causes}");
    let advice = record_values(causes, "what to change");
    assert_eq!(advice[1], ["Stop retrying conflicts blindly"], "{causes}");
    let unexplained = &s[s.find("\nConflicts no cause explains").unwrap()..];
    let statuses: Vec<String> = record_values(unexplained, "statuses").concat();
    assert_eq!(statuses.len(), 6, "{unexplained}");
    assert_eq!(statuses[0], "412: 1", "{unexplained}");
    assert!(s.lines().all(|l| l.chars().count() <= 50), "{s}");
    // The overview's period parts after its arrow, never between a date and its time.
    assert!(
        s.contains("│ period    ┆ 2026-03-02 09:00:00 →              │\n│           ┆ 2026-03-02 09:59:58 (UTC)          │"),
        "{s}"
    );
    let s = explain_demo("/api/v1/orders/9310442", 50);
    let clients = record_values(&s, "client");
    assert_eq!(clients.len(), 42, "{s}");
    assert!(
        clients
            .iter()
            .all(|c| c.len() == 1 && c[0].starts_with("198.51.100.4")),
        "{s}"
    );
    // Every conflict has the finding the heading tells: the records leave it out, as
    // they leave out an empty cell.
    assert!(s.contains("  finding: retry_storm: "), "{s}");
    assert!(record_values(&s, "finding").concat().is_empty(), "{s}");
    assert_eq!(record_values(&s, "line")[0], ["1572"], "{s}");
    let s = table_in_checkout("fixtures/demo/access.log", 80);
    assert!(!s.contains("\n── 1 of "), "{s}");
}

/// The names of a table's section (its first column), each the lines it was broken into:
/// a row starts where its second column has a value.
fn table_names(text: &str, heading: &str) -> Vec<Vec<String>> {
    let at = text.find(&format!("\n{heading}")).unwrap();
    let section = &text[at..];
    let body = section.split_once('╞').unwrap().1;
    let end = body.find('└').unwrap();
    let mut names: Vec<Vec<String>> = Vec::new();
    for line in body[..end].lines().filter(|l| l.starts_with('│')) {
        let cells: Vec<&str> = line.split(['│', '┆']).map(str::trim).collect();
        if !cells[2].is_empty() {
            names.push(Vec::new());
        }
        if !cells[1].is_empty() {
            names.last_mut().unwrap().push(cells[1].to_string());
        }
    }
    names
}

/// A name wider than its column is broken where a path parts, after a `/` (or a UUID's
/// `-`), never inside a word (`/api/v1/orders/{id}/canc` / `el` at 70 columns), at every
/// width from 60 to 160; joined, the lines give the names the widest table has.
#[test]
fn names_in_tables_break_between_their_parts() {
    let wide = table_in_checkout("fixtures/demo/access.log", 250);
    for heading in ["Top resources by conflicts", "Top instances by conflicts"] {
        let whole: Vec<String> = table_names(&wide, heading).concat();
        let mut broken = 0;
        for width in (60..=160).step_by(10) {
            let s = table_in_checkout("fixtures/demo/access.log", width);
            // Where the section is records, there is no column to break a name in.
            let below = s[s.find(heading).unwrap()..].lines().nth(1).unwrap();
            if !below.starts_with('┌') {
                continue;
            }
            let names = table_names(&s, heading);
            let joined: Vec<String> = names.iter().map(|n| n.concat()).collect();
            assert_eq!(joined, whole, "{width}: {s}");
            for name in names.iter().filter(|n| n.len() > 1) {
                broken += 1;
                let rest = &name[..name.len() - 1];
                assert!(
                    rest.iter().all(|l| l.ends_with(['/', '-'])),
                    "{width}: {name:?}"
                );
            }
        }
        assert!(broken > 0, "{heading}: no name was broken");
    }
    let s = table_in_checkout("fixtures/demo/access.log", 70);
    let names = table_names(&s, "Top resources by conflicts");
    assert!(
        names.contains(&vec!["/api/v1/orders/{id}/".into(), "cancel".into()]),
        "{s}"
    );
}

/// A client is whole or its table is records: cut to its row's one line it would name
/// another (`108.154.13.2…`); the rate goes first, at 50 columns, and at 60 columns the
/// table is no wider than the terminal with every number whole.
#[test]
fn clients_are_never_cut() {
    for (width, rate) in [(50, false), (60, true), (80, true)] {
        let s = table_in_checkout("fixtures/demo/access.log", width);
        let clients = &s[s.find("\nTop clients by conflicts\n┌").unwrap()..];
        let clients = &clients[..clients.find('└').unwrap()];
        assert!(clients.contains("│ 108.154.13.241 ┆"), "{width}: {clients}");
        assert!(clients.contains("│ 178.24.211.193 ┆"), "{width}: {clients}");
        let names = (clients.lines().filter(|l| l.starts_with('│')))
            .map(|l| l.split(['│', '┆']).nth(1).unwrap());
        assert!(
            names.clone().all(|c| !c.contains('…')),
            "{width}: {clients}"
        );
        assert_eq!(names.count(), 11, "{width}: {clients}");
        assert_eq!(clients.contains("┆    rate "), rate, "{width}: {clients}");
        assert!(clients.lines().all(|l| l.chars().count() <= width));
    }
}

/// `explain` at 60 columns keeps its table by hiding the finding column where every
/// conflict has the one finding its first lines tell; with a conflict no finding explains,
/// the column stays and the rows are records.
#[test]
fn explain_hides_a_finding_its_heading_tells() {
    let s = explain_demo("/api/v1/inventory/94017", 60);
    assert!(s.contains("  finding: hot_spot_edit: "), "{s}");
    assert!(
        s.contains("│ start (UTC) ┆ client       ┆ method ┆ status ┆ line │"),
        "{s}"
    );
    assert!(
        s.contains("│ 09:06:05    ┆ 203.0.113.20 ┆ PUT    ┆    409 ┆  378 │"),
        "{s}"
    );
    assert!(s.lines().all(|l| l.chars().count() <= 60), "{s}");
    // A conflict no finding explains: the records say so.
    let s = explain_demo("/api/v1/orders/1570980", 60);
    assert_eq!(record_values(&s, "finding").concat(), ["(none)"], "{s}");
}

/// The overview's values break where they read well: a count stays with its word, and a
/// path wider than the room breaks after a `/`, not inside a name.
#[test]
fn overview_breaks_between_phrases_and_after_slashes() {
    let s = table_in_checkout("fixtures/demo/access.log", 100);
    assert!(
        s.contains("(combined, 709836 bytes): 3806 lines, 3806 parsed, ")
            && s.contains("\n│           ┆ 0 skipped "),
        "{s}"
    );
    let dir = tempfile::Builder::new().prefix("gw-").tempdir().unwrap();
    let name = "access-log-of-the-eu-west-1-gateway.log";
    let path = dir.path().join(name);
    std::fs::copy(fixture("demo/access.log"), &path).unwrap();
    let out = why409().arg(&path).env("COLUMNS", "60").output().unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    let overview = &s[s.find("\nOverview\n").unwrap()..s.find("\nTop resources").unwrap()];
    let values: Vec<&str> = (overview.lines().filter(|l| l.starts_with('│')))
        .map(|l| l.split('┆').nth(1).unwrap().trim_end_matches('│').trim())
        .collect();
    // The path's lines end at a slash, and the file's name starts a line whole.
    let at = values.iter().position(|v| v.starts_with(name)).unwrap();
    assert!(at > 0, "{overview}");
    assert!(values[..at].iter().all(|v| v.ends_with('/')), "{overview}");
}

/// `explain` over two days names them in its first line and dates a row's start only where
/// the day changes: the rows go in time order, so the others' times say enough, and the
/// column stays narrow.
#[test]
fn explain_dates_a_start_where_the_day_changes() {
    let dir = tempfile::tempdir().unwrap();
    let next = demo_a_day_later(dir.path());
    for width in [80, 120, 200] {
        let out = why409()
            .args(["explain", "--instance", "/api/v1/orders/9310442"])
            .arg(fixture("demo/access.log"))
            .arg(&next)
            .env("COLUMNS", width.to_string())
            .output()
            .unwrap();
        let s = String::from_utf8(out.stdout).unwrap();
        // The first line names the first day and the last.
        let head = s.split("\n  finding").next().unwrap().replace('\n', " ");
        assert_eq!(
            head,
            "/api/v1/orders/9310442 (/api/v1/orders/{id}): 84 requests, 80 conflicts; from \
             2026-03-02 to 2026-03-03 (UTC)",
            "{width}: {s}"
        );
        let body = s.split_once('╞').unwrap().1;
        let starts: Vec<&str> = (body.lines().filter(|l| l.starts_with('│')))
            .map(|l| l.split(['│', '┆']).nth(1).unwrap().trim())
            .filter(|t| !t.is_empty())
            .collect();
        let dated: Vec<&str> = (starts.iter().copied())
            .filter(|t| t.starts_with("2026-"))
            .collect();
        if width >= 120 {
            // One line a request, the first of each day dated.
            assert_eq!(starts.len(), 84, "{width}: {s}");
            assert_eq!(
                dated,
                ["2026-03-02 09:23:30", "2026-03-03 09:23:30"],
                "{width}: {s}"
            );
            assert_eq!(starts[1], "09:23:31", "{width}: {s}");
        } else {
            // The date a line above its time.
            assert_eq!(dated, ["2026-03-02", "2026-03-03"], "{width}: {s}");
            assert_eq!(starts.len(), 86, "{width}: {s}");
        }
    }
}

/// `explain` over several inputs numbers the files its rows are in and lists their paths
/// whole above the table (to copy), so a row's place fits 80 columns and its client stays
/// whole; rows all of one file name it once, with no file column.
#[test]
fn explain_numbers_the_files_of_several_inputs() {
    let dir = tempfile::tempdir().unwrap();
    let next = demo_a_day_later(dir.path());
    let demo = fixture("demo/access.log");
    let run = |instance: &str, width: usize| {
        let out = why409()
            .args(["explain", "--instance", instance])
            .arg(&demo)
            .arg(&next)
            .env("COLUMNS", width.to_string())
            .output()
            .unwrap();
        assert!(out.status.success());
        String::from_utf8(out.stdout).unwrap()
    };
    let rows = |s: &str| -> Vec<Vec<String>> {
        let body = s.split_once('╞').unwrap().1;
        (body.lines().filter(|l| l.starts_with('│')))
            .map(|l| {
                let cells = l.trim_matches('│').split('┆');
                cells.map(|c| c.trim().to_string()).collect()
            })
            .filter(|r: &Vec<String>| !r[1].is_empty())
            .collect()
    };
    // The files' paths, listed after the finding and before the table (wrapped after a `/`
    // where one is wider than the line), read without the breaks.
    let legend = |s: &str| -> String {
        let after = s.split_once("\n  file 1:").unwrap().1;
        // Before the table, or its records (at 40 columns).
        after
            .split(['┌', '─'])
            .next()
            .unwrap()
            .split_whitespace()
            .collect()
    };
    let files = format!("{}file2:{}", demo.display(), next.display());
    for width in [80, 120, 200] {
        let s = run("/api/v1/orders/9310442", width);
        let widest = s.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= width, "{width}: a line is {widest} wide\n{s}");
        assert_eq!(legend(&s), files, "{width}: {s}");
        assert!(s.contains("┆ file ┆ line │"), "{width}: {s}");
        let rows = rows(&s);
        assert_eq!(rows.len(), 84, "{width}: {s}");
        // The demo's 42 requests, then the same a day later: file, then line number.
        let places: Vec<(&str, &str)> = (rows.iter())
            .map(|r| (r[r.len() - 2].as_str(), r[r.len() - 1].as_str()))
            .collect();
        assert_eq!(places[0], ("1", "1572"), "{width}: {s}");
        assert_eq!(places[42], ("2", "1572"), "{width}: {s}");
        assert!(places[..42].iter().all(|p| p.0 == "1"), "{width}: {s}");
        assert!(places[42..].iter().all(|p| p.0 == "2"), "{width}: {s}");
        assert!(rows.iter().all(|r| r[1].starts_with("198.51.100.4")), "{s}");
    }
    // Narrower than a path, it breaks after a `/` and nothing is lost.
    let s = run("/api/v1/orders/9310442", 40);
    let widest = s.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 40, "a line is {widest} wide\n{s}");
    assert_eq!(legend(&s), files, "{s}");
    // An instance only the first file has: its path once, no file column.
    let once = std::fs::read_to_string(&next)
        .unwrap()
        .replace("9310442", "9310443");
    std::fs::write(&next, once).unwrap();
    let s = run("/api/v1/orders/9310442", 100);
    let path = s
        .split_once("\n  lines of")
        .unwrap()
        .1
        .split('┌')
        .next()
        .unwrap();
    let path: String = path.split_whitespace().collect();
    assert_eq!(path, demo.display().to_string(), "{s}");
    assert!(!s.contains("file"), "{s}");
    assert_eq!(rows(&s).len(), 42, "{s}");
}

/// The skipped lines' examples are what that table is read for: a long input path wraps to
/// a third of the room, and the example keeps the rest, whole where it fits.
#[test]
fn skipped_line_examples_keep_the_room() {
    let dir = tempfile::Builder::new()
        .prefix("logs-from-the-production-gateway-cluster-eu-west-1-node-07-")
        .tempdir()
        .unwrap();
    let demo = std::fs::read_to_string(fixture("demo/access.log")).unwrap();
    let (head, tail) = demo.split_at(demo.find("\n").unwrap() + 1);
    let message = "upstream timed out (110: Connection timed out) while reading response";
    let path = dir.path().join("access.log");
    std::fs::write(&path, format!("{head}{message}\n{tail}")).unwrap();
    // A second log with a skipped line: the table names each input on its first row.
    let other = dir.path().join("other.log");
    std::fs::write(&other, format!("{head}not a log line\n{tail}")).unwrap();
    for width in [80usize, 100, 140, 200] {
        let out = why409()
            .args([&path, &other])
            .env("COLUMNS", width.to_string())
            .output()
            .unwrap();
        let s = String::from_utf8(out.stdout).unwrap();
        let table = &s[s.find("\nSkipped lines\n").unwrap()..];
        let header = (table.lines()).find(|l| l.starts_with("│ input ")).unwrap();
        let cells: Vec<usize> = header.split('┆').map(|c| c.chars().count()).collect();
        // Where both cannot be whole, the example has the wider column.
        assert!(cells[3] > cells[0] || width >= 200, "{width}: {header}");
        // The example's words, read back across its rows, are the line's.
        let rows: Vec<&str> = (table.lines())
            .skip_while(|l| !l.contains("┆ malformed_line "))
            .take_while(|l| !l.contains("┆ malformed_line ┆     1 ┆ 2: not a log line"))
            .map(|l| l.split('┆').nth(3).unwrap().trim_end_matches('│').trim())
            .collect();
        let rows: Vec<&str> = rows.into_iter().filter(|r| !r.is_empty()).collect();
        assert_eq!(rows.join(" "), format!("2: {message}"), "{width}: {table}");
        if width >= 140 {
            assert_eq!(rows.len(), 1, "{width}: {table}");
        }
    }
    // One input with skipped lines: the heading names it; its rows are reason, count and
    // examples.
    for width in [50usize, 80, 200] {
        let out = why409()
            .arg(&path)
            .env("COLUMNS", width.to_string())
            .output()
            .unwrap();
        let s = String::from_utf8(out.stdout).unwrap();
        let table = &s[s.find("\nSkipped lines in").unwrap()..];
        let heading: Vec<&str> = (table.lines().skip(1))
            .take_while(|l| !l.starts_with('┌'))
            .map(str::trim)
            .collect();
        let heading = heading.join(" ");
        assert_eq!(
            heading,
            format!("Skipped lines in {}", path.display()),
            "{width}: {table}"
        );
        let rows: Vec<&str> = (table.lines())
            .skip_while(|l| !l.starts_with("│ malformed_line "))
            .take_while(|l| !l.starts_with('└'))
            .map(|l| l.split('┆').nth(2).unwrap().trim_end_matches('│').trim())
            .collect();
        assert_eq!(rows.join(" "), format!("2: {message}"), "{width}: {table}");
    }
}

#[test]
fn markdown_output() {
    let out = why409()
        .arg(fixture("basic/access.log"))
        .args(["--output", "markdown"])
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    assert!(s.starts_with("# why409 report"));
    assert!(s.contains("| `/api/v1/docs/{id}` | 3 | 3 | 3 | 100.00% | 2 | 2 |"));
}

#[test]
fn output_file_and_top() {
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("r.json");
    why409()
        .arg(fixture("basic/access.log"))
        .args(["--output", "json", "--top", "2", "-o"])
        .arg(&o)
        .assert()
        .success()
        .stdout("");
    let r: Value = serde_json::from_slice(&std::fs::read(&o).unwrap()).unwrap();
    assert_eq!(r["resources"].as_array().unwrap().len(), 2);
    assert_eq!(r["clients"].as_array().unwrap().len(), 2);
}

/// Without `--output`, the `-o` file's extension chooses the format; a bare format name as
/// the file is refused (it is `--output` mistyped), a path to such a file is not.
#[test]
fn out_file_extension_chooses_the_format() {
    let dir = tempfile::tempdir().unwrap();
    let log = fixture("basic/access.log");
    let write = |name: &str, extra: &[&str]| {
        let o = dir.path().join(name);
        why409()
            .arg(&log)
            .arg("-o")
            .arg(&o)
            .args(extra)
            .assert()
            .success()
            .stdout("");
        std::fs::read_to_string(&o).unwrap()
    };
    assert!(write("r.json", &[]).starts_with("{\n  \"schema\": \"why409.report/v1\""));
    assert!(write("r.MD", &[]).starts_with("# why409 report"));
    assert!(write("r.htm", &[]).starts_with("<!DOCTYPE html>"));
    assert!(write("r.csv", &[]).starts_with("section,rank,name,"));
    assert!(write("r.txt", &[]).contains("Overview"));
    // --output wins over the extension.
    assert!(write("r2.json", &["--output", "csv"]).starts_with("section,"));
    // `-o json` in a directory: refused before any work, nothing written.
    why409()
        .current_dir(dir.path())
        .arg(&log)
        .args(["-o", "json"])
        .assert()
        .code(2)
        .stderr("why409: -o json names the file to write, not the format: use --output json (or -o report.json); to write a file named json, give ./json\n");
    assert!(!dir.path().join("json").exists());
    why409()
        .current_dir(dir.path())
        .arg(&log)
        .args(["-o", "./json"])
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(dir.path().join("json"))
            .unwrap()
            .contains("Overview")
    );
    // The subcommands alike.
    why409()
        .args(["explain", "--instance", "/x"])
        .arg(&log)
        .args(["-o", "csv"])
        .assert()
        .code(2);
    let e = dir.path().join("e.csv");
    why409()
        .args(["explain", "--instance", "/x"])
        .arg(&log)
        .arg("-o")
        .arg(&e)
        .assert()
        .success();
    assert!(
        std::fs::read_to_string(&e)
            .unwrap()
            .starts_with("instance,start,")
    );
}

#[test]
fn routes_take_precedence_and_statuses_can_change() {
    let p = fixture("basic/access.log");
    let r = json(&[
        p.to_str().unwrap(),
        "--route",
        "/api/v1/docs/{doc}",
        "--status",
        "423",
    ]);
    assert_eq!(r["conflict_statuses"], serde_json::json!([423]));
    assert_eq!(r["totals"]["conflicts"], 2);
    assert_eq!(r["resources"][0]["template"], "/api/v1/docs/{doc}");
}

#[test]
fn xff_client_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("xff.log");
    std::fs::write(
        &p,
        concat!(
            "10.0.0.1 - - [02/Mar/2026:09:00:00 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"x\" \"198.51.100.1, 10.1.1.1\"\n",
            "10.0.0.1 - - [02/Mar/2026:09:00:01 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"x\" \"198.51.100.2\"\n",
            "10.0.0.1 - - [02/Mar/2026:09:00:02 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"x\" \"-\"\n",
        ),
    )
    .unwrap();
    let r = json(&[p.to_str().unwrap(), "--client", "xff"]);
    let names: Vec<&str> = r["clients"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["client"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["10.0.0.1", "198.51.100.1", "198.51.100.2"]);
    let r = json(&[p.to_str().unwrap()]);
    assert_eq!(r["clients"].as_array().unwrap().len(), 1);
}

/// `--client user` names a CLF client by its logged user, across addresses, counting its
/// requests that did not conflict too; a line without a user falls back to its address,
/// and the warning counts those conflicts. (The user is read in the lite read's prefix,
/// `Format::lite_reads_user`, so these lines are not read in full.)
#[test]
fn user_client_key() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("users.log");
    std::fs::write(
        &p,
        concat!(
            "10.0.0.1 - alice [02/Mar/2026:09:00:00 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"x\"\n",
            "10.0.0.2 - alice [02/Mar/2026:09:00:01 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"x\"\n",
            "10.0.0.2 - alice [02/Mar/2026:09:00:02 +0000] \"GET /a/1 HTTP/1.1\" 200 10 \"-\" \"x\"\n",
            "10.0.0.3 - bob [02/Mar/2026:09:00:03 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"x\"\n",
            "10.0.0.3 - - [02/Mar/2026:09:00:04 +0000] \"PUT /a/1 HTTP/1.1\" 409 0 \"-\" \"x\"\n",
            "10.0.0.3 - bob [02/Mar/2026:09:00:05 +0000] \"PUT /a/1 HTTP/1.1\" 200 0 \"-\" \"x\"\n",
        ),
    )
    .unwrap();
    let r = json(&[p.to_str().unwrap(), "--client", "user"]);
    let clients: Vec<(&str, u64, u64)> = (r["clients"].as_array().unwrap().iter())
        .map(|c| {
            let n = |k: &str| c[k].as_u64().unwrap();
            (c["client"].as_str().unwrap(), n("requests"), n("conflicts"))
        })
        .collect();
    assert_eq!(
        clients,
        vec![("alice", 3, 2), ("10.0.0.3", 1, 1), ("bob", 2, 1)]
    );
    assert_eq!(
        r["warnings"],
        serde_json::json!([
            "--client user: 1 of 4 conflicts have no such value in the log; their clients are named by address"
        ])
    );
}

#[test]
fn since_until_filter_and_count_filtered_lines() {
    let p = fixture("basic/access.log");
    let r = json(&[
        p.to_str().unwrap(),
        "--since",
        "2026-03-02T09:00:10Z",
        "--until",
        "2026-03-02T09:00:14Z",
    ]);
    assert_eq!(r["inputs"][0]["filtered"], 16);
    assert_eq!(r["totals"]["requests"], 4);
    assert_eq!(r["totals"]["conflicts"], 3);
    // The same range as people type it: a space, an offset, epoch seconds.
    let typed = json(&[
        p.to_str().unwrap(),
        "--since",
        "2026-03-02 10:00:10+01:00",
        "--until",
        "1772442014",
    ]);
    assert_eq!(typed["inputs"], r["inputs"]);
    assert_eq!(typed["totals"], r["totals"]);
}

#[test]
fn fail_on_thresholds_set_exit_1() {
    let p = fixture("basic/access.log");
    why409()
        .arg(&p)
        .args(["--output", "json", "--fail-on", "conflicts=7"])
        .assert()
        .code(1);
    why409()
        .arg(&p)
        .args(["--output", "json", "--fail-on", "conflicts=8"])
        .assert()
        .code(0);
    why409()
        .arg(&p)
        .args(["--output", "json", "--fail-on", "rate=0.5"])
        .assert()
        .code(0);
    // 8 conflicts in 20 requests: a rate of 0.4, written as a threshold is read.
    for (rule, code) in [
        ("conflicts>7", 1),
        ("conflicts>8", 0),
        ("rate>39%", 1),
        ("rate=40%", 0),
    ] {
        why409()
            .arg(&p)
            .args(["--output", "json", "--fail-on", rule])
            .assert()
            .code(code);
    }
    why409()
        .arg(&p)
        .args(["--fail-on", "bogus"])
        .assert()
        .code(2);
    why409()
        .arg(&p)
        .args(["--fail-on", "rate=5"])
        .assert()
        .code(2)
        .stderr("why409: --fail-on 'rate=5': a rate is a fraction from 0 to 1 (0.01) or a percentage (1%)\n");
}

/// Scheduled reports can fail on one cause, or on conflicts nothing explains: the demo has a
/// retry storm, no permanent retry, and 6 of its 193 conflicts unexplained.
#[test]
fn fail_on_a_cause_or_on_unexplained_conflicts() {
    let p = fixture("demo/access.log");
    for (rule, code) in [
        ("cause=retry_storm", 1),
        ("cause=permanent_retry", 0),
        ("cause=client_concentration", 0),
        ("unexplained=5", 1),
        ("unexplained=6", 0),
    ] {
        why409()
            .arg(&p)
            .args(["--output", "json", "--fail-on", rule])
            .assert()
            .code(code);
    }
    why409()
        .arg(&p)
        .args(["--fail-on", "cause=retry-storm"])
        .assert()
        .code(2)
        .stderr(predicates::str::contains(
            "no cause is named 'retry-storm'; the causes: idempotency_conflict, gateway_generated,",
        ))
        .stderr(predicates::str::contains("retry_storm"));
}

/// The clients table names the user agent of each client's first conflict and how many
/// others it used; a client whose lines log none has none; the JSON keeps the whole text.
#[test]
fn clients_show_the_user_agents_of_their_conflicts() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ua.log");
    let line = |s: u32, ip: &str, status: u16, ua: &str| {
        format!(
            "{ip} - - [02/Mar/2026:09:00:{s:02} +0000] \"PUT /api/items/{s} HTTP/1.1\" {status} 12 \"-\" \"{ua}\"\n"
        )
    };
    let mut log = String::new();
    // Out of time order in the file: the first conflict is the one at :03.
    log += &line(9, "10.0.0.1", 409, "sync/2.0 (linux)");
    log += &line(3, "10.0.0.1", 409, "sync/1.0 (linux)");
    log += &line(5, "10.0.0.1", 409, "sync/1.0 (linux)");
    log += &line(4, "10.0.0.1", 200, "curl/8.5.0");
    log += &line(6, "10.0.0.2", 409, "-");
    std::fs::write(&p, log).unwrap();
    let p = p.to_str().unwrap();
    let r = json(&[p]);
    let clients: Vec<_> = (r["clients"].as_array().unwrap().iter())
        .map(|c| {
            (
                c["client"].clone(),
                c["user_agent"].clone(),
                c["user_agents"].clone(),
            )
        })
        .collect();
    assert_eq!(
        clients,
        [
            ("10.0.0.1".into(), "sync/1.0 (linux)".into(), 2.into()),
            ("10.0.0.2".into(), serde_json::Value::Null, 0.into()),
        ]
    );
    assert_eq!(
        json(&[p, "--chunk-size", "1", "--threads", "2"])["clients"],
        r["clients"]
    );
    let table = why409().arg(p).env("COLUMNS", "120").output().unwrap();
    let table = String::from_utf8_lossy(&table.stdout).to_string();
    assert!(table.contains("┆ user agent "), "{table}");
    assert!(table.contains("┆ sync/1.0 (linux) (+1 other) "), "{table}");
    let md = why409().args([p, "--output", "markdown"]).output().unwrap();
    assert!(
        String::from_utf8_lossy(&md.stdout).contains("| `10.0.0.2` | 1 | 1 | 100.00% | 1 | `-` |")
    );
}

/// The report says what the lines around the conflicts log and what a missing field rules
/// out: the demo's combined lines have user agents, no durations, no upstream status and no
/// idempotency key.
#[test]
fn the_overview_says_what_the_context_lines_log() {
    let p = fixture("demo/access.log");
    let p = p.to_str().unwrap();
    let r = json(&[p]);
    assert_eq!(
        r["inputs"][0]["context"],
        serde_json::json!({"lines": 582, "durations": 0, "upstream_status": 0, "idempotency_key": 0, "user_agent": 582})
    );
    let note = "the 582 lines kept around the conflicts log no durations (overlaps are possible, not certain), no upstream status (gateway_generated cannot be told), no idempotency key (idempotency_conflict cannot be found), user agent on all";
    let table = why409().arg(p).output().unwrap();
    assert!(String::from_utf8_lossy(&table.stdout).contains(&format!("context   ┆ {note}")));
    let md = why409().args([p, "--output", "markdown"]).output().unwrap();
    assert!(String::from_utf8_lossy(&md.stdout).contains(&format!("- **Context:** {note}\n")));
    // One line kept: said in the singular.
    let dir = tempfile::tempdir().unwrap();
    let one = dir.path().join("one.log");
    std::fs::write(
        &one,
        "10.0.0.1 - - [02/Mar/2026:09:00:00 +0000] \"PUT /a/1 HTTP/1.1\" 409 5 \"-\" \"curl/8\"\n",
    )
    .unwrap();
    let table = why409().arg(&one).output().unwrap();
    assert!(
        String::from_utf8_lossy(&table.stdout)
            .contains("context   ┆ the one line kept around the conflicts logs no durations"),
        "{}",
        String::from_utf8_lossy(&table.stdout)
    );
    // Without conflicts there is nothing to say.
    let quiet = why409()
        .arg(fixture("basic/access.log"))
        .args(["--status", "418"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&quiet.stdout).contains("context"));
}

#[test]
fn bad_arguments_exit_2() {
    let p = fixture("basic/access.log");
    why409()
        .arg(&p)
        .args(["--window", "7x"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--window"));
    why409()
        .arg(&p)
        .args(["--format", "nope"])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("unknown format 'nope'"));
    why409().arg(&p).args(["--client", "nope"]).assert().code(2);
    why409()
        .arg(&p)
        .args(["--route", "no-slash"])
        .assert()
        .code(2);
    why409().arg(&p).args(["--threads", "0"]).assert().code(2);
    for bad in ["abc", "2xx", "0", "99", "1000", "409,,412"] {
        why409()
            .arg(&p)
            .args(["--status", bad])
            .assert()
            .code(2)
            .stderr(predicate::str::contains(
                "is not an HTTP status code: give codes such as 409,412,423,428",
            ));
    }
    why409()
        .arg(&p)
        .args(["--threshold", "nope=1"])
        .assert()
        .code(2);
    // Help text is shown as written: clap reads `{n}` in it as a line break, so no example
    // may use that placeholder name.
    why409()
        .args(["--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("/pulls/{number}"));
}

/// Stdin redirected from a file (`why409 < access.log`) is read as the named file is, mapped
/// rather than copied into a temporary file: a log past the in-memory limit (1 MiB) gives the
/// named file's report with no temporary directory to copy it into, and stdin is left at its
/// end. A file a script has read the start of is read from where it stands.
#[test]
fn stdin_from_a_file_is_read_as_the_file() {
    use std::fs::File;
    use std::io::{Seek, SeekFrom};
    use std::process::Command as Std;
    let log = std::fs::read(fixture("demo/access.log")).unwrap();
    let big = log.repeat((1 << 20) / log.len() + 1);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("access.log");
    std::fs::write(&p, &big).unwrap();
    let strip = |mut v: Value| {
        v["inputs"][0]["path"] = Value::Null;
        v
    };
    let named = strip(json(&[p.to_str().unwrap()]));
    let run = |stdin: &File, tmp: &std::path::Path| {
        let out = Std::new(assert_cmd::cargo::cargo_bin("why409"))
            .args(["--output", "json"])
            .env("TMPDIR", tmp)
            .stdin(stdin.try_clone().unwrap())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<Value>(&out.stdout).unwrap()
    };
    let mut whole = File::open(&p).unwrap();
    let r = run(&whole, std::path::Path::new("/nonexistent/tmp"));
    assert_eq!(r["inputs"][0]["path"], "-");
    assert_eq!(strip(r), named);
    assert_eq!(whole.stream_position().unwrap(), big.len() as u64);

    let mut rest = File::open(&p).unwrap();
    let first = big.iter().position(|&c| c == b'\n').unwrap() + 1;
    rest.seek(SeekFrom::Start(first as u64)).unwrap();
    let r = run(&rest, dir.path());
    let lines = named["inputs"][0]["lines"].as_u64().unwrap();
    assert_eq!(r["inputs"][0]["lines"].as_u64(), Some(lines - 1));
    assert_eq!(rest.stream_position().unwrap(), big.len() as u64);
}

/// Stdin named twice is one input (two readers of a pipe would split its lines between
/// them), and stdin redirected from a file that is named too is that file: each read once,
/// with a warning.
#[test]
fn stdin_named_twice_or_with_its_file_is_read_once() {
    use std::process::Command as Std;
    let log = fixture("demo/access.log");
    let bytes = std::fs::read(&log).unwrap();
    let lines = bytes.iter().filter(|&&c| c == b'\n').count() as u64;
    let read_once = |out: std::process::Output, warning: String| {
        assert!(out.status.success());
        let r: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(r["inputs"].as_array().unwrap().len(), 1);
        assert_eq!(r["inputs"][0]["lines"].as_u64(), Some(lines));
        assert_eq!(r["warnings"][0], warning);
    };
    let piped = why409()
        .args(["--output", "json", "-", "-"])
        .write_stdin(bytes)
        .output()
        .unwrap();
    read_once(piped, "-: listed more than once, read once".into());
    let redirected = Std::new(assert_cmd::cargo::cargo_bin("why409"))
        .args(["--output", "json"])
        .arg(&log)
        .arg("-")
        .stdin(std::fs::File::open(&log).unwrap())
        .output()
        .unwrap();
    let warning = format!("-: the same file as {}, read once", log.display());
    read_once(redirected, warning);
}

#[test]
fn broken_pipe_exits_quietly() {
    use std::io::Read;
    use std::process::{Command as Std, Stdio};
    let bin = assert_cmd::cargo::cargo_bin("why409");
    let mut child = Std::new(bin)
        .arg(fixture("demo/access.log"))
        .args(["--output", "json", "--top", "100000"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut out = child.stdout.take().unwrap();
    let mut first = [0u8; 16];
    out.read_exact(&mut first).unwrap();
    drop(out);
    let mut err = String::new();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut err)
        .unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "stderr: {err}");
    assert!(
        !err.contains("panicked") && !err.contains("Broken pipe"),
        "stderr: {err}"
    );
}

#[test]
fn formats_command_lists_samples() {
    why409()
        .arg("formats")
        .assert()
        .success()
        .stdout(predicate::str::contains("combined").and(predicate::str::contains("e.g.")))
        .stdout(predicate::str::contains(
            "apache-custom your Apache LogFormat: --log-format '%h %l %u %t \"%r\" %>s %b %D'",
        ));
}

#[test]
fn explain_shows_every_request_on_an_instance() {
    let p = fixture("basic/access.log");
    let e = common::report(
        why409()
            .args(["explain"])
            .arg(&p)
            .args(["--instance", "/api/v1/orders/1001?x=1"]),
    );
    assert_eq!(e["instance"], "/api/v1/orders/1001");
    let ev = e["events"].as_array().unwrap();
    assert_eq!(ev.len(), 5);
    let statuses: Vec<u64> = ev.iter().map(|x| x["status"].as_u64().unwrap()).collect();
    assert_eq!(statuses, vec![200, 200, 409, 200, 200]);
    assert_eq!(ev[2]["client"], "198.51.100.7");
    assert_eq!(ev[2]["line"], 3);
    // A path copied without its leading slash, or a whole URL, names the same instance.
    for named in [
        "api/v1/orders/1001",
        "https://api.example.com/api/v1/orders/1001/",
    ] {
        let again = common::report(
            why409()
                .args(["explain"])
                .arg(&p)
                .args(["--instance", named]),
        );
        assert_eq!(again["instance"], "/api/v1/orders/1001");
        assert_eq!(again["events"], e["events"]);
    }
    // An instance without conflicts is explained too.
    let out = why409()
        .args(["explain"])
        .arg(&p)
        .args(["--instance", "/api/v1/export"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&out.stdout).contains("1 request, 0 conflicts"));
    // `explain` on an instance of a fixture at 80 columns.
    let at_80 = |instance: &str, log: &str| {
        let out = why409()
            .args(["explain", "--instance", instance])
            .arg(fixture(log))
            .env("COLUMNS", "80")
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    // The table and the finding's sentence fit the width; addresses stay whole.
    let s = at_80("/api/v1/orders/9310442", "demo/access.log");
    let widest = s.lines().map(|l| l.chars().count()).max().unwrap();
    assert!(widest <= 80, "a line is {widest} wide");
    assert!(s.contains("┆ 198.51.100.42 ┆"), "{s}");
    assert!(s.contains("  finding: retry_storm: "), "{s}");
    // All on one day: named once (the phrase kept whole on a line), the rows one line each
    // with their times; the log has no durations, so no column of `-`.
    assert!(
        s.starts_with("/api/v1/orders/9310442 (/api/v1/orders/{id}): 42 requests, 40 conflicts;\nall on 2026-03-02 (UTC)\n"),
        "{s}"
    );
    assert!(
        s.contains("\n│ 09:23:30    ┆ 198.51.100.42 ┆ GET    ┆    200 ┆ "),
        "{s}"
    );
    assert!(!s.contains("duration"), "{s}");
    // With durations logged, the column is there; times keep as many digits each.
    let s = at_80("/api/v1/orders/1042", "formats/scenario.haproxy.log");
    assert!(s.contains("┆ duration ┆"), "{s}");
    assert!(s.contains("\n│ 09:59:59.988 ┆ 198.51.100.4 ┆"), "{s}");
    assert!(
        s.contains("\n│ 10:00:00.990 ┆ 203.0.113.7  ┆ GET    ┆    200 ┆     10ms ┆"),
        "{s}"
    );
}

/// An instance with no requests: explain names the instances to try instead, a route's own
/// when the route template was given (its busiest when none had conflicts), else the ones
/// with the most conflicts.
#[test]
fn explain_suggests_instances_on_a_miss() {
    let demo = fixture("demo/access.log");
    let explain = |instance: &str| {
        common::report(
            why409()
                .args(["explain", "--instance", instance])
                .arg(&demo),
        )
    };
    let listed = |e: &serde_json::Value| -> Vec<(String, u64)> {
        (e["suggestions"].as_array().unwrap().iter())
            .map(|s| {
                (
                    s["instance"].as_str().unwrap().to_string(),
                    s["conflicts"].as_u64().unwrap(),
                )
            })
            .collect()
    };
    let route = explain("/api/v1/orders/{id}");
    assert_eq!(route["is_route"], true);
    assert_eq!(route["events"].as_array().unwrap().len(), 0);
    // The route's totals, as the resources table gives them (grep -c '/api/v1/orders/[0-9]').
    assert_eq!(
        (route["requests"].as_u64(), route["conflicts"].as_u64()),
        (Some(655), Some(56))
    );
    let from_route = listed(&route);
    assert_eq!(from_route.len(), 5);
    assert_eq!(from_route[0], ("/api/v1/orders/9310442".into(), 40));
    assert_eq!(from_route[1], ("/api/v1/orders/9310577".into(), 12));
    assert!(
        from_route
            .iter()
            .all(|(i, _)| i.starts_with("/api/v1/orders/"))
    );
    // A route without conflicts suggests its instances with the most requests (counted
    // for it alone); those ranked by conflicts carry no request count.
    let quiet = explain("/api/v1/products/{id}");
    assert_eq!(quiet["is_route"], true);
    assert_eq!(
        (quiet["requests"].as_u64(), quiet["conflicts"].as_u64()),
        (Some(239), Some(0))
    );
    let busiest: Vec<(&str, u64)> = (quiet["suggestions"].as_array().unwrap().iter())
        .map(|s| {
            (
                s["instance"].as_str().unwrap(),
                s["requests"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        busiest,
        [
            ("/api/v1/products/93334", 2),
            ("/api/v1/products/10004", 1),
            ("/api/v1/products/10747", 1),
            ("/api/v1/products/10834", 1),
            ("/api/v1/products/11010", 1)
        ]
    );
    assert!(route["suggestions"][0].get("requests").is_none(), "{route}");
    // Counted in many chunks on two threads, the same.
    let chunked = common::report(
        why409()
            .args(["explain", "--instance", "/api/v1/products/{id}"])
            .args(["--chunk-size", "8KiB", "--threads", "2"])
            .arg(&demo),
    );
    assert_eq!(chunked["suggestions"], quiet["suggestions"]);
    let miss = explain("/nope");
    assert_eq!(miss["is_route"], false);
    assert_eq!(
        (miss["requests"].as_u64(), miss["conflicts"].as_u64()),
        (Some(0), Some(0))
    );
    let anywhere = listed(&miss);
    assert_eq!(anywhere[0], ("/api/v1/orders/9310442".into(), 40));
    assert_eq!(anywhere[1], ("/api/v1/inventory/94017".into(), 34));
    // Most conflicts first, ties in path order.
    assert!(
        anywhere
            .windows(2)
            .all(|w| w[0].1 > w[1].1 || (w[0].1 == w[1].1 && w[0].0 < w[1].0))
    );
    // A found instance suggests nothing.
    assert_eq!(listed(&explain("/api/v1/orders/9310442")), vec![]);
    let table = why409()
        .args(["explain", "--instance", "/api/v1/orders/{id}"])
        .arg(&demo)
        .output()
        .unwrap();
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.starts_with(
            "/api/v1/orders/{id} is a route: 655 requests and 56 conflicts on its instances in \
             these logs. explain shows one instance; those with the most conflicts:\n  \
             /api/v1/orders/9310442 (40 conflicts)\n  \
             /api/v1/orders/9310577 (12 conflicts)\n  /api/v1/orders/"
        ),
        "{text}"
    );
    assert_eq!(text.lines().count(), 6, "{text}");
    // Narrower than a suggested path, it breaks after a `/`, its count kept whole.
    let narrow = why409()
        .args(["explain", "--instance", "/nope"])
        .arg(&demo)
        .env("COLUMNS", "40")
        .output()
        .unwrap();
    let text = String::from_utf8(narrow.stdout).unwrap();
    assert!(text.lines().all(|l| l.chars().count() <= 40), "{text}");
    assert!(
        text.contains(
            "\n  /api/v1/docs/\n  b7e2d9c4-1f3a-4e6b-8c5d-9a0f1e2d3c4b\n  (10 conflicts)\n"
        ),
        "{text}"
    );
    let quiet = why409()
        .args(["explain", "--instance", "/api/v1/products/{id}"])
        .arg(&demo)
        .output()
        .unwrap();
    // A route none of whose instances had conflicts: its busiest instances (as `grep -o
    // '/api/v1/products/[0-9]*' | sort | uniq -c` counts them), then by name.
    assert_eq!(
        String::from_utf8(quiet.stdout).unwrap(),
        "/api/v1/products/{id} is a route: 239 requests and 0 conflicts on its instances in \
         these logs. explain shows one instance; those with the most requests:\n  \
         /api/v1/products/93334 (2 requests)\n  /api/v1/products/10004 (1 request)\n  \
         /api/v1/products/10747 (1 request)\n  /api/v1/products/10834 (1 request)\n  \
         /api/v1/products/11010 (1 request)\n"
    );
    // A CSV of no rows says why on stderr.
    let csv = why409()
        .args([
            "explain",
            "--output",
            "csv",
            "--instance",
            "/api/v1/orders/{id}",
        ])
        .arg(&demo)
        .output()
        .unwrap();
    assert!(csv.status.success());
    assert_eq!(String::from_utf8(csv.stdout).unwrap().lines().count(), 1);
    assert_eq!(
        String::from_utf8(csv.stderr).unwrap(),
        "why409: /api/v1/orders/{id} is a route (655 requests and 56 conflicts on its \
         instances): the CSV has its header only; try /api/v1/orders/9310442\n"
    );
}

/// A log of a few requests over years: the table folds the empty weeks, the JSON keeps them.
#[test]
fn sparse_timelines_fold_empty_windows_in_tables_only() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.log");
    let line = |date: &str, status: u16| {
        format!(
            "10.0.0.1 - - [{date}:10:00:00 +0000] \"PUT /orders/7 HTTP/1.1\" {status} 5 \"-\" \"t\"\n"
        )
    };
    let log = [
        line("02/Jan/2024", 200),
        line("03/Jan/2024", 409),
        line("20/Mar/2025", 200),
    ]
    .concat();
    std::fs::write(&path, log).unwrap();
    let p = path.to_str().unwrap();
    let r = json(&[p]);
    let timeline = r["timeline"].as_array().unwrap();
    let weeks = timeline.len();
    assert!(weeks > 60, "{weeks} windows");
    assert_eq!(timeline.iter().filter(|w| w["requests"] != 0).count(), 2);
    let table = why409().arg(p).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    let folded = format!("({} empty windows, the last from ", weeks - 2);
    assert!(table.contains(&folded), "{table}");
    assert!(table.lines().count() < 60, "{table}");
    let md = why409().args([p, "--output", "markdown"]).output().unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(
        md.contains(&format!("({} empty windows) | 0 | 0 |", weeks - 2)),
        "{md}"
    );
}

/// A timeline over days dates a window's start where the day changes, and a run of empty
/// windows its last only when the run goes on into another day.
#[test]
fn timeline_dates_windows_where_the_day_changes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("days.log");
    let line = |time: &str| {
        format!("10.0.0.1 - - [{time} +0000] \"PUT /orders/7 HTTP/1.1\" 409 5 \"-\" \"t\"\n")
    };
    let log = [
        "02/Mar/2026:10:00:00",
        "02/Mar/2026:16:00:00",
        "03/Mar/2026:10:00:00",
    ]
    .map(line)
    .concat();
    std::fs::write(&path, log).unwrap();
    let out = why409()
        .args([path.to_str().unwrap(), "--window", "1h"])
        .env("COLUMNS", "120")
        .output()
        .unwrap();
    let s = String::from_utf8(out.stdout).unwrap();
    let timeline = &s[s.find("\nTimeline (1h windows, UTC)\n").unwrap()..];
    let starts: Vec<&str> = (timeline.lines().filter(|l| l.starts_with("│ ")))
        .map(|l| l.split('┆').next().unwrap())
        .collect();
    assert_eq!(
        starts,
        [
            "│        window start ",
            "│ 2026-03-02 10:00:00 ",
            "│            11:00:00 ",
            "│            16:00:00 ",
            "│            17:00:00 ",
            "│ 2026-03-03 10:00:00 ",
        ],
        "{timeline}"
    );
    assert!(
        timeline.contains("┆ (5 empty windows, the last from 15:00:00) "),
        "{timeline}"
    );
    assert!(
        timeline.contains("┆ (17 empty windows, the last from 2026-03-03 09:00:00) "),
        "{timeline}"
    );
    // Narrower, the run's text breaks between its phrases and words, never between the
    // last window's date and time.
    for width in (70..=110).step_by(5) {
        let out = why409()
            .args([path.to_str().unwrap(), "--window", "1h"])
            .env("COLUMNS", width.to_string())
            .output()
            .unwrap();
        let s = String::from_utf8(out.stdout).unwrap();
        let timeline = &s[s.find("\nTimeline (1h windows, UTC)\n").unwrap()..];
        let widest = timeline.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= width, "{width}: {timeline}");
        // Bars are scaled to the room: each on its window's line, none wrapped onto the next.
        let bars = timeline.lines().filter(|l| l.contains('█'));
        let wrapped = bars.filter(|l| {
            l.split('┆')
                .next()
                .unwrap()
                .trim_matches(['│', ' '])
                .is_empty()
        });
        assert_eq!(wrapped.count(), 0, "{width}: {timeline}");
        // The run's row: its first line, and those after with no start of their own.
        fn last_cell(l: &str) -> &str {
            l.rsplit('┆').next().unwrap().trim_end_matches('│').trim()
        }
        let lines: Vec<&str> = timeline.lines().filter(|l| l.contains('┆')).collect();
        let at = lines.iter().position(|l| l.contains("(17 empty")).unwrap();
        let go_on = |l: &&str| {
            l.split('┆')
                .next()
                .unwrap()
                .trim_matches(['│', ' '])
                .is_empty()
        };
        let run: Vec<&str> = std::iter::once(lines[at])
            .chain(lines[at + 1..].iter().copied().take_while(go_on))
            .map(last_cell)
            .collect();
        assert!(
            run.iter().any(|l| l.ends_with("2026-03-03 09:00:00)")),
            "{width}: {timeline}"
        );
        assert_eq!(
            run.join(" "),
            "(17 empty windows, the last from 2026-03-03 09:00:00)",
            "{width}: {timeline}"
        );
    }
}

/// A blog whose post slugs are words: more than a hundred of them after `/blog` make that a
/// name position, learned from a sample and applied to every line.
#[test]
fn slugs_share_one_template() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("blog.log");
    let slug = |i: usize| {
        let mut s = String::from("post-");
        let mut k = i;
        loop {
            s.push((b'a' + (k % 26) as u8) as char);
            k /= 26;
            if k == 0 {
                break s;
            }
        }
    };
    let mut log = String::new();
    let (mut comments, mut conflicts) = (0, 0);
    for n in 0..30_000usize {
        let (min, sec) = (n / 600 % 60, n / 10 % 60);
        let (method, target, status) = if n % 100 == 99 {
            ("GET", "/about".to_string(), 200)
        } else if n % 50 == 0 {
            conflicts += 1;
            comments += 1;
            ("PUT", format!("/blog/{}/comments", slug(n % 400)), 409)
        } else if n < 29_000 {
            comments += 1;
            ("GET", format!("/blog/{}/comments", slug(n % 400)), 200)
        } else {
            // Slugs only met at the end, far past the sampled start, are names too.
            comments += 1;
            ("GET", format!("/blog/{}/comments", slug(1000 + n)), 200)
        };
        log.push_str(&format!(
            "10.0.{}.{} - - [02/Mar/2026:09:{min:02}:{sec:02} +0000] \"{method} {target} HTTP/1.1\" {status} 12 \"-\" \"t\"\n",
            n % 7,
            n % 5
        ));
    }
    assert!(
        log.len() > 2 << 20,
        "the log must reach past the first sample span"
    );
    std::fs::write(&path, &log).unwrap();
    let p = path.to_str().unwrap();

    let r = json(&[p]);
    assert_eq!(r["name_positions"], serde_json::json!(["/blog/{name}"]));
    let resources = r["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(resources[0]["template"], "/blog/{name}/comments");
    assert_eq!(resources[0]["requests"], comments);
    assert_eq!(resources[0]["conflicts"], conflicts);
    // Conflicts fall on every 50th line: eight of the 400 slugs.
    assert_eq!(resources[0]["instances"], 8);
    for extra in [["--threads", "1"], ["--chunk-size", "4096"]] {
        let again = why409()
            .args([p, "--output", "json"])
            .args(extra)
            .output()
            .unwrap();
        assert_eq!(
            serde_json::from_slice::<Value>(&again.stdout).unwrap(),
            r,
            "{extra:?}"
        );
    }
    let table = why409().arg(p).output().unwrap();
    let table = String::from_utf8(table.stdout).unwrap();
    assert!(
        table.contains("/blog/{name} (more than 100 distinct words there"),
        "{table}"
    );

    // A user route wins, and then nothing is left to learn.
    let r = json(&[p, "--route", "/blog/{slug}/comments"]);
    assert_eq!(r["name_positions"], serde_json::json!([]));
    assert_eq!(r["resources"][0]["template"], "/blog/{slug}/comments");
    assert_eq!(r["resources"][0]["requests"], comments);
}

/// Titles in another script (a shop's product slugs in Persian), percent-encoded in either
/// case, escaped by nginx (`\xD8\xB3`) or raw: one template `{name}` for them all, though far
/// fewer than the hundred distinct words that make a learned name position.
#[test]
fn titles_in_another_script_are_names() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("shop.log");
    let titles = [
        "%D8%B3%D8%B4%D9%88%D8%A7%D8%B1-%D8%AE%D8%A7%D9%86%DA%AF%DB%8C-PR257AT",
        "%d8%a8%d8%ae%d8%a7%d8%b1%db%8c",
        "\\xD8\\xB3\\xD8\\xB4\\xD9\\x88",
        "ماشین-اصلاح",
    ];
    let mut log = String::new();
    for n in 0..40usize {
        let status = if n % 5 == 4 { 409 } else { 200 };
        log.push_str(&format!(
            "10.0.0.{} - - [02/Mar/2026:09:00:{:02} +0000] \"PUT /products/{}/{} HTTP/1.1\" {status} 12 \"-\" \"t\"\n",
            n % 3,
            n,
            100 + n % 5,
            titles[n % 4]
        ));
    }
    std::fs::write(&path, &log).unwrap();
    let r = json(&[path.to_str().unwrap()]);
    assert_eq!(r["inputs"][0]["parsed"], 40);
    assert_eq!(r["name_positions"], serde_json::json!([]));
    let resources = r["resources"].as_array().unwrap();
    assert_eq!(resources.len(), 1, "{resources:?}");
    assert_eq!(resources[0]["template"], "/products/{id}/{name}");
    assert_eq!(resources[0]["requests"], 40);
    assert_eq!(resources[0]["conflicts"], 8);
    // The conflicts fall on n = 4, 9, 14, …: product 104, each of the four titles.
    assert_eq!(resources[0]["instances"], 4);
    let instances: Vec<&str> = r["instances"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["instance"].as_str().unwrap())
        .collect();
    assert!(
        instances.contains(&"/products/104/ماشین-اصلاح")
            && instances.contains(&"/products/104/سشو")
            && instances.contains(&"/products/104/%d8%a8%d8%ae%d8%a7%d8%b1%db%8c"),
        "{instances:?}"
    );
}

/// Paths of a hundred thousand segments (a 200 KB request line, within the line limit): no
/// stack overflow, no quadratic templating, with and without learned name positions.
#[test]
fn very_deep_paths_neither_crash_nor_stall() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("deep.log");
    let line = |sec: u32, method: &str, target: &str, status: u16| {
        format!(
            "10.0.0.1 - - [02/Mar/2026:09:{:02}:{:02} +0000] \"{method} {target} HTTP/1.1\" {status} 12 \"-\" \"b\"\n",
            sec / 60,
            sec % 60
        )
    };
    let mut log = String::new();
    for i in 0..300u32 {
        let slug: String = [0, 4, 8]
            .iter()
            .map(|k| (b'a' + ((i >> k) & 15) as u8) as char)
            .collect();
        log.push_str(&line(i, "GET", &format!("/blog/post-{slug}/comments"), 200));
    }
    log.push_str(&line(
        400,
        "PUT",
        &format!("/blog{}", "/a".repeat(100_000)),
        409,
    ));
    log.push_str(&line(401, "PUT", &"/x".repeat(100_000), 409));
    std::fs::write(&path, &log).unwrap();
    let start = std::time::Instant::now();
    let r = json(&[path.to_str().unwrap()]);
    assert!(start.elapsed().as_secs() < 20, "took {:?}", start.elapsed());
    assert_eq!(r["inputs"][0]["parsed"], 302);
    assert_eq!(r["totals"]["conflicts"], 2);
    assert_eq!(r["name_positions"], serde_json::json!(["/blog/{name}"]));
    let mut templates: Vec<String> = r["resources"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| x["template"].as_str().unwrap().to_string())
        .collect();
    templates.sort();
    assert_eq!(
        templates,
        [
            format!("/blog/{{name}}{}", "/a".repeat(99_999)),
            "/x".repeat(100_000)
        ]
    );
}

/// A line dated 1970 in the middle of a day's log (a clock reset) stretches the period over
/// 56 years: route buckets and a fixed `--window` stay bounded (the detector's dense row was
/// 42 GB and aborted), the line is counted, and a `--window` that would make billions of
/// rows is widened with a warning.
#[test]
fn a_line_dated_far_away_neither_crashes_nor_explodes() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("clock.log");
    // Ten requests a second for five minutes: the pass's route buckets are 1 s wide.
    let line = |date: &str, k: u32, status: u16| {
        format!(
            "10.0.0.{} - - [{date}:09:{:02}:{:02} +0000] \"PUT /orders/{} HTTP/1.1\" {status} 12 \"-\" \"b\"\n",
            k % 7,
            k / 600,
            k / 10 % 60,
            k % 5
        )
    };
    let mut log = String::new();
    for s in 0..3000u32 {
        // A line from the reset clock in the middle, far from both ends.
        let date = if s == 1500 {
            "01/Jan/1970"
        } else {
            "02/Mar/2026"
        };
        log.push_str(&line(date, s, if s % 10 == 0 { 409 } else { 200 }));
    }
    std::fs::write(&path, &log).unwrap();
    let p = path.to_str().unwrap();
    let r = json(&[p]);
    assert_eq!(r["inputs"][0]["parsed"], 3000);
    assert_eq!(r["totals"]["conflicts"], 300);
    assert_eq!(r["period"]["start"], "1970-01-01T09:02:30Z");
    assert!(r["timeline"].as_array().unwrap().len() <= 120);
    assert_eq!(
        r["warnings"],
        serde_json::json!([format!(
            "1 request is dated far from the rest of the log, which lies within 2026-03-02T09:00:00Z to 2026-03-02T09:04:59Z (1 dated from 1970-01-01T09:02:30Z at {p} line 1501); it is counted, and the period and the timeline stretch to include it"
        )])
    );
    // The line is found the same when the log is read in many chunks.
    let chunked = json(&[p, "--chunk-size", "5000", "--threads", "2"]);
    assert_eq!(chunked["warnings"], r["warnings"]);
    // A Markdown report keeps the warning too (it is read later, without stderr).
    let md = why409().args([p, "--output", "markdown"]).output().unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    let warning = r["warnings"][0].as_str().unwrap();
    assert!(
        md.contains(&format!("> **Warnings**\n> - {warning}\n")),
        "{md}"
    );
    let r = json(&[p, "--window", "1s"]);
    assert_eq!(r["totals"]["conflicts"], 300);
    let rows = r["timeline"].as_array().unwrap().len();
    assert!(rows <= 100_000, "{rows} rows");
    assert_eq!(r["window_seconds"], 21600);
    let warning = r["warnings"][1].as_str().unwrap();
    assert!(
        warning.starts_with(
            "--window 1s: the period 1970-01-01T09:02:30Z to 2026-03-02T09:04:59Z would make"
        ),
        "{warning}"
    );
}

/// A finding lists its first 20 instances and clients (those with the most conflicts first)
/// and counts them all: the demo's carts regression has 47 conflicts on 47 carts from 24
/// addresses (`grep /api/v1/carts/ | awk '$9==409{print $1}' | sort -u | wc -l`).
#[test]
fn a_finding_lists_its_top_clients_and_counts_them_all() {
    let r = json(&[fixture("demo/access.log").to_str().unwrap()]);
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "deploy_regression")
        .unwrap();
    assert_eq!(f["conflicts"], 47);
    assert_eq!(f["instance_count"], 47);
    assert_eq!(f["instances"].as_array().unwrap().len(), 20);
    assert_eq!(f["client_count"], 24);
    let clients: Vec<&str> = (f["clients"].as_array().unwrap().iter())
        .map(|c| c.as_str().unwrap())
        .collect();
    assert_eq!(clients.len(), 20);
    // Ranked by their conflicts on the finding: 108.154.13.241 has 11 of the 47.
    assert_eq!(clients[0], "108.154.13.241");
    // A finding under the cap lists every client.
    let hot = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == "hot_spot_edit")
        .unwrap();
    assert_eq!(hot["client_count"], 10);
    assert_eq!(hot["clients"].as_array().unwrap().len(), 10);
}

/// Settings that could count nothing or mean nothing are refused with a one-line error
/// naming the flag: an empty time range, a negative or non-finite threshold.
#[test]
fn an_empty_time_range_and_a_negative_threshold_are_refused() {
    let demo = fixture("demo/access.log");
    let refused = |args: &[&str], says: &str| {
        why409()
            .arg(&demo)
            .args(args)
            .assert()
            .code(2)
            .stderr(predicate::str::contains(says.to_string()))
            .stderr(predicate::function(|e: &str| e.lines().count() == 1));
    };
    refused(
        &[
            "--since",
            "2026-03-02T09:30:00Z",
            "--until",
            "2026-03-02T09:00:00Z",
        ],
        "--since 2026-03-02T09:30:00Z is not before --until 2026-03-02T09:00:00Z",
    );
    refused(
        &["--since", "2026-03-02", "--until", "2026-03-02"],
        "is not before --until",
    );
    for bad in ["-1", "nan", "inf"] {
        refused(
            &["--threshold", &format!("min_conflicts={bad}")],
            "is not a number ≥ 0",
        );
    }
    // A day's range and a zero threshold are fine.
    let day = json(&[
        demo.to_str().unwrap(),
        "--since",
        "2026-03-02",
        "--until",
        "2026-03-03",
        "--threshold",
        "min_conflicts=0",
    ]);
    assert!(day["totals"]["requests"].as_u64().unwrap() > 0);
}

/// A log named twice, or named and found again in its directory, is counted once; a pipe
/// (`why409 <(zcat old.gz)`) is read as a stream, not taken for an empty file.
#[test]
fn a_file_named_twice_counts_once_and_a_pipe_is_read() {
    let demo = fixture("demo/access.log");
    let dir = demo.parent().unwrap();
    let once = json(&[demo.to_str().unwrap()]);
    let twice = json(&[demo.to_str().unwrap(), dir.to_str().unwrap()]);
    assert_eq!(twice["totals"], once["totals"]);
    assert!(
        (twice["warnings"].as_array().unwrap().iter())
            .any(|w| w.as_str().unwrap().contains("read once"))
    );

    let sh = format!(
        "{} --output json <(gzip -c {})",
        assert_cmd::cargo::cargo_bin("why409").display(),
        demo.display()
    );
    let out = std::process::Command::new("bash")
        .args(["-c", &sh])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let piped: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(piped["inputs"][0]["format"], "combined");
    assert_eq!(piped["totals"], once["totals"]);
}

/// A UTF-8 byte order mark before the first line (IIS writes one) is no part of it: the
/// `#Fields` directive it precedes still gives the layout (the whole log was rejected), a
/// first request's client has no invisible prefix, and `bytes` is still the file's size.
#[test]
fn a_byte_order_mark_is_not_part_of_the_first_line() {
    let dir = tempfile::tempdir().unwrap();
    let iis = dir.path().join("u_ex260302.log");
    std::fs::write(
        &iis,
        "\u{feff}#Fields: date time c-ip cs-method cs-uri-stem sc-status time-taken\n\
         2026-03-02 09:00:01 10.0.0.1 PUT /api/v1/orders/7 409 12\n\
         2026-03-02 09:00:02 10.0.0.2 PUT /api/v1/orders/7 200 11\n",
    )
    .unwrap();
    let r = json(&[iis.to_str().unwrap()]);
    let input = &r["inputs"][0];
    assert_eq!(input["format"], "w3c");
    assert_eq!(input["parsed"], 2);
    assert_eq!(input["skip_reasons"]["header_or_comment"], 1);
    assert_eq!(input["bytes"], std::fs::metadata(&iis).unwrap().len());
    assert_eq!(r["clients"][0]["client"], "10.0.0.1");

    let demo = std::fs::read(fixture("demo/access.log")).unwrap();
    let marked = dir.path().join("access.log");
    std::fs::write(&marked, [&b"\xEF\xBB\xBF"[..], &demo].concat()).unwrap();
    let plain = json(&[fixture("demo/access.log").to_str().unwrap()]);
    let r = json(&[marked.to_str().unwrap()]);
    assert_eq!(r["inputs"][0]["bytes"], demo.len() as u64 + 3);
    for k in ["totals", "clients", "instances", "findings"] {
        assert_eq!(r[k], plain[k], "{k}");
    }
}

/// Filters that leave nothing say so (a quiet report is not a quiet day); a path prefix
/// without its leading slash means the path from the root; an empty --host is refused.
#[test]
fn filters_that_leave_nothing_are_named() {
    let demo = fixture("demo/access.log");
    let d = demo.to_str().unwrap();
    let r = json(&[d, "--host", "api.example.com"]);
    assert_eq!(r["totals"]["requests"], 0);
    assert_eq!(r["inputs"][0]["filtered"], 3806);
    let warned: Vec<&str> = (r["warnings"].as_array().unwrap().iter())
        .map(|w| w.as_str().unwrap())
        .collect();
    assert_eq!(
        warned,
        [
            "all 3806 parsed requests were left out by the filters (--host api.example.com): nothing is counted"
        ]
    );
    // `grep -c '"[A-Z]* /api/v1/orders' access.log`
    let with_slash = json(&[d, "--path-prefix", "/api/v1/orders"]);
    let without = json(&[d, "--path-prefix", "api/v1/orders"]);
    assert_eq!(with_slash["totals"]["requests"], 1260);
    assert_eq!(without["totals"], with_slash["totals"]);
    assert!(without["warnings"].as_array().unwrap().is_empty());
    why409()
        .arg(&demo)
        .args(["--host", " "])
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--host: give a host name"));
}

/// A --client key the log does not record falls back to the address, and says so with
/// how many conflicts it concerns (the demo is a combined log: no API key on any line).
#[test]
fn a_client_key_the_log_lacks_is_named_in_a_warning() {
    let d = fixture("demo/access.log");
    let r = json(&[d.to_str().unwrap(), "--client", "api-key"]);
    assert_eq!(
        r["warnings"],
        serde_json::json!([
            "--client api-key: 193 of 193 conflicts have no such value in the log; their clients are named by address"
        ])
    );
    assert_eq!(r["clients"][0]["client"], "198.51.100.41");
    let by_ip = json(&[d.to_str().unwrap()]);
    assert!(by_ip["warnings"].as_array().unwrap().is_empty());
    assert_eq!(r["clients"], by_ip["clients"]);
}

/// A control character logged in a path or user agent (an ESC that clears the screen)
/// is shown as an escape in tables, Markdown and explain, and kept as text in JSON.
#[test]
fn control_characters_from_a_log_never_reach_the_terminal() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("esc.log");
    let line = |i: u32| {
        format!(
            "10.0.0.{i} - - [02/Mar/2026:09:00:0{i} +0000] \"PUT /orders/\x1b[2J HTTP/1.1\" 409 5 \"-\" \"evil\x1b]0;x\x07\"\n"
        )
    };
    std::fs::write(&p, (1..=6).map(line).collect::<String>()).unwrap();
    for args in [
        vec!["--color", "never"],
        vec!["--output", "markdown"],
        vec!["explain", "--instance", "/orders/\x1b[2J"],
        vec![
            "explain",
            "--instance",
            "/orders/\x1b[2J",
            "--output",
            "markdown",
        ],
        vec!["--output", "html"],
    ] {
        let out = why409().args(&args).arg(&p).output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{args:?}");
        let text = String::from_utf8(out.stdout).unwrap();
        assert!(!text.contains('\x1b') && !text.contains('\x07'), "{args:?}");
        assert!(text.contains("/orders/\\x1b[2J"), "{args:?}: {text}");
    }
    let r = json(&[p.to_str().unwrap()]);
    assert_eq!(r["instances"][0]["instance"], "/orders/\x1b[2J");
}

/// `--list-thresholds`: every threshold, its default and meaning, in aligned columns however
/// long a name is; each can be set with `--threshold`.
#[test]
fn thresholds_are_listed_in_aligned_columns() {
    let out = why409().arg("--list-thresholds").output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    for name in [
        "gateway_min_conflicts",
        "invisible_writer_min_conflicts",
        "schedule_min_minute_share",
        "missing_precondition_min_conflicts",
    ] {
        assert!(lines.iter().any(|l| l.starts_with(name)), "{name}");
    }
    // The value column starts at the same place on every line: two spaces after the
    // longest name.
    let longest = lines
        .iter()
        .map(|l| l.split(' ').next().unwrap().len())
        .max();
    for l in &lines {
        let value = &l[longest.unwrap() + 2..];
        assert!(value.starts_with(|c: char| c.is_ascii_digit()), "{l:?}");
    }
    let first = lines[0].split(' ').next().unwrap();
    why409()
        .args(["--threshold", &format!("{first}=1"), "--list-thresholds"])
        .assert()
        .success();
}

/// `explain --output json` says who answered each request where the format logs the
/// upstream's status: the upstream, the gateway itself (`-`), or the gateway over another
/// upstream status.
#[test]
fn explain_says_who_answered() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("access.json");
    let line = |second: u32, status: u16, upstream: &str| {
        format!(
            r#"{{"time_local":"02/Mar/2026:09:00:{second:02} +0000","remote_addr":"10.0.0.1","request":"PUT /api/v1/payments/7 HTTP/1.1","status":{status},"upstream_status":"{upstream}","http_idempotency_key":"pay-7"}}"#
        )
    };
    let text = [line(1, 201, "201"), line(2, 409, "-"), line(3, 409, "200")].join("\n");
    std::fs::write(&path, text + "\n").unwrap();
    let r = common::report(why409().args([
        "explain",
        path.to_str().unwrap(),
        "--instance",
        "/api/v1/payments/7",
    ]));
    let by: Vec<&str> = r["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["answered_by"].as_str().unwrap())
        .collect();
    assert_eq!(by, ["upstream", "gateway", "rewritten"]);
    // The key each line logged.
    assert!(
        (r["events"].as_array().unwrap().iter()).all(|e| e["idempotency_key"] == "pay-7"),
        "{r}"
    );
    // Tables and Markdown put who answered beside the status when it was not the upstream;
    // CSV has both columns.
    let explain = |output: &str| {
        let out = why409()
            .args([
                "explain",
                path.to_str().unwrap(),
                "--instance",
                "/api/v1/payments/7",
            ])
            .args(["--output", output, "--color", "never"])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let table = explain("table");
    assert!(
        table.contains("409 (gateway)") && table.contains("409 (rewritten)"),
        "{table}"
    );
    assert!(!table.contains("(upstream)"), "{table}");
    let md = explain("markdown");
    assert!(md.contains("| **409 (gateway)** |"), "{md}");
    let csv = explain("csv");
    let lines: Vec<&str> = csv.lines().collect();
    assert!(
        lines[0].contains(",finding,answered_by,idempotency_key,input,"),
        "{csv}"
    );
    assert!(lines[2].contains(",gateway,pay-7,"), "{csv}");
}
