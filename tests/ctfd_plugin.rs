#![allow(clippy::unwrap_used, clippy::expect_used)]
//! The CTFd plugin (contrib/ctfd/ctfdeck) end to end: the real CTFd 3.8.7 with the plugin
//! copied in, the real `ctfdeck serve` on the real engine, players driving CTFd over HTTP with
//! cookies and CSRF nonces as a browser does.

mod common;
mod ctfd_support;

use std::process::Command;

use serde_json::{Value, json};

use common::repo;
use ctfd_support::{Agent, Ctfd, CtfdTree, Deck, browser, chromium, python, tarball};

/// The end-to-end tests run one at a time: Chromium abandons its requests when the host's
/// network changes (`ERR_NETWORK_CHANGED`), and every instance another test starts adds a bridge.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn one_at_a_time() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

fn instance_of(reply: &ctfd_support::Reply) -> Value {
    assert_eq!(reply.status, 200, "{}", reply.body);
    assert_eq!(reply.body["success"], true, "{}", reply.body);
    reply.body["data"]["instance"].clone()
}

/// The flag, read by solving the instance with the challenge's own solve script.
fn solve_web_robots(connection: &str) -> String {
    let out = Command::new(repo().join("challenges/web-robots/solve.sh"))
        .args(["--connection-info", connection])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "solve.sh {connection}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn attempt(agent: &mut Agent, who: &str, challenge: i64, flag: &str) -> (String, String) {
    let r = agent.call(
        who,
        "POST",
        "/api/v1/challenges/attempt",
        json!({"challenge_id": challenge, "submission": flag}),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    (
        r.body["data"]["status"].as_str().unwrap().to_string(),
        r.body["data"]["message"].as_str().unwrap().to_string(),
    )
}

fn create_challenge(agent: &mut Agent, name: &str, state: &str) -> i64 {
    create_challenge_of(agent, name, state, "web-robots")
}

fn create_challenge_of(agent: &mut Agent, name: &str, state: &str, slug: &str) -> i64 {
    let r = agent.call(
        "admin",
        "POST",
        "/api/v1/challenges",
        json!({
            "name": name, "category": "web", "description": "Find the admin panel.",
            "value": 500, "decay": 10, "minimum": 100, "state": state,
            "type": "ctfdeck", "ctfdeck_challenge": slug
        }),
    );
    assert_eq!(r.status, 200, "{}", r.body);
    let data = &r.body["data"];
    assert_eq!(data["type"], "ctfdeck");
    assert_eq!(data["ctfdeck_challenge"], slug);
    // Dynamic scoring as CTFd's dynamic type: the value given is the initial one.
    assert_eq!(
        (&data["function"], &data["initial"], &data["minimum"]),
        (&json!("logarithmic"), &json!(500), &json!(100))
    );
    data["id"].as_i64().unwrap()
}

fn player(agent: &mut Agent, name: &str, team: Option<&str>) {
    let password = format!("pw-{name}");
    agent.send(json!({"op": "register", "who": name, "name": name, "password": password}));
    if let Some(team) = team {
        let password = format!("team-pw-{team}");
        agent.send(json!({"op": "team", "who": name, "name": team, "password": password}));
    }
}

#[test]
fn teams_start_solve_share_and_stop_through_ctfd() {
    let _serial = one_at_a_time();
    let Some(tarball) = tarball() else { return };
    let tree = CtfdTree::unpack(&tarball);
    let python = python(&tree);
    let mut deck = Deck::start();
    let token = deck.cli(&["token", "add", "ctfd", "--role", "scoreboard"]);
    let ctfd = Ctfd::start(&tree, &python, &deck, token.trim());
    let mut agent = Agent::start(&python, &ctfd);

    // 1. CTFd's setup, in team mode; the plugin's admin page sees ctfdeck.
    agent.send(json!({"op": "setup", "mode": "teams", "name": "admin", "password": "adminpw"}));
    let test = agent.call("admin", "GET", "/api/v1/ctfdeck/admin/test", json!({}));
    assert_eq!(test.body["success"], true, "{}", test.body);
    assert_eq!(test.body["data"]["health"]["engine"], "ok");
    assert!(
        test.body["data"]["challenges"]
            .as_array()
            .unwrap()
            .contains(&json!("web-robots"))
    );

    // The create form's select is filled from ctfdeck's catalog.
    let catalog = agent.call("admin", "GET", "/api/v1/ctfdeck/catalog", json!({}));
    assert_eq!(catalog.status, 200, "{}", catalog.body);
    assert!(
        catalog.body["data"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == "web-robots"),
        "{}",
        catalog.body
    );
    // The admin page saves a new token (and the URL); with the first one revoked, the plugin
    // goes on with the saved one.
    let second = deck.cli(&["token", "add", "ctfd-rotated", "--role", "scoreboard"]);
    let saved = agent.send(json!({
        "op": "form", "who": "admin", "path": "/admin/ctfdeck",
        "fields": {"url": deck.base, "token": second.trim()}
    }));
    assert_eq!(saved["status"], 302, "{saved}");
    deck.cli(&["token", "revoke", "ctfd"]);
    let test = agent.call("admin", "GET", "/api/v1/ctfdeck/admin/test", json!({}));
    assert_eq!(test.body["success"], true, "{}", test.body);
    let (status, page) = agent.page("admin", "/admin/ctfdeck");
    assert_eq!(status, 200);
    assert!(page.contains(&deck.base), "the saved URL is shown");

    // 2. A ctfdeck challenge through CTFd's admin API; its player view carries the panel.
    let chal = create_challenge(&mut agent, "Robots Only", "visible");
    let hidden = create_challenge(&mut agent, "Not yet", "hidden");

    // 3. Two teams.
    player(&mut agent, "alice", Some("red"));
    player(&mut agent, "bob", Some("blue"));
    let view = agent.call(
        "alice",
        "GET",
        &format!("/api/v1/challenges/{chal}"),
        json!({}),
    );
    assert!(
        view.body["data"]["view"]
            .as_str()
            .unwrap()
            .contains("id=\"ctfdeck-panel\""),
        "{}",
        view.body
    );

    // Only logged-in players, only visible challenges, only with CTFd's CSRF nonce.
    let anonymous = agent.call(
        "nobody",
        "GET",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    );
    assert_eq!(anonymous.status, 403, "{}", anonymous.body);
    let r = agent.call(
        "alice",
        "POST",
        &format!("/api/v1/ctfdeck/instances/{hidden}"),
        json!({}),
    );
    assert_eq!(r.status, 404, "{}", r.body);
    let forged = agent.send(json!({
        "op": "call", "who": "alice", "method": "POST", "csrf": false,
        "path": format!("/api/v1/ctfdeck/instances/{chal}")
    }));
    assert_eq!(forged["status"], 403, "{forged}");
    let none = agent.call(
        "alice",
        "GET",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    );
    assert_eq!(instance_of(&none), Value::Null);

    // Team red starts its instance through the plugin, reaches it, solves it with its flag.
    let red = instance_of(&agent.call(
        "alice",
        "POST",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    ));
    assert_eq!(red["status"], "running");
    assert!(red["seconds_left"].as_i64().unwrap() > 0);
    assert_eq!(red["can_extend_now"], true);
    let red_id = red["id"].as_str().unwrap().to_string();
    let red_record = deck.store().instance(&red_id).unwrap().unwrap();
    assert!(
        red_record.owner.starts_with("team:"),
        "{}",
        red_record.owner
    );
    let flag = solve_web_robots(red["connection"][0].as_str().unwrap());
    assert_eq!(Some(&flag), red_record.flag.as_ref());
    assert!(!red.to_string().contains(&flag), "the flag leaked: {red}");

    // 4. Team blue starts its own, then submits red's flag: incorrect, and caught.
    let blue = instance_of(&agent.call(
        "bob",
        "POST",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    ));
    assert_ne!(blue["id"], red["id"]);
    assert_eq!(attempt(&mut agent, "bob", chal, &flag).0, "incorrect");
    let shared: Vec<Value> =
        serde_json::from_str(&deck.cli(&["audit", "--json", "--action", "flag-shared"])).unwrap();
    assert_eq!(shared.len(), 1, "{shared:?}");
    assert!(
        shared[0]["detail"]
            .as_str()
            .unwrap()
            .contains(&format!("flag of {}", red_record.owner)),
        "{shared:?}"
    );
    assert!(
        shared[0]["actor"].as_str().unwrap().contains("bob (user "),
        "{shared:?}"
    );
    let (_, admin_page) = agent.page("admin", "/admin/ctfdeck");
    let incidents = &admin_page[admin_page.find("id=\"ctfdeck-incidents\"").unwrap()..];
    assert!(incidents.contains("bob (blue)"), "{incidents}");

    // Red's own flag: correct, recorded as a solve in CTFd; a wrong one is incorrect.
    assert_eq!(
        attempt(&mut agent, "bob", chal, "flag{0000000000000000}").0,
        "incorrect"
    );
    assert_eq!(attempt(&mut agent, "alice", chal, &flag).0, "correct");
    let solves = agent.call(
        "admin",
        "GET",
        &format!("/api/v1/challenges/{chal}/solves"),
        json!({}),
    );
    assert_eq!(solves.body["data"][0]["name"], "red", "{}", solves.body);
    let fails = agent.call(
        "admin",
        "GET",
        "/api/v1/submissions?type=incorrect",
        json!({}),
    );
    assert_eq!(
        fails.body["meta"]["pagination"]["total"], 2,
        "{}",
        fails.body
    );
    // A static flag set in CTFd still works, for anyone.
    let static_flag = agent.call(
        "admin",
        "POST",
        "/api/v1/flags",
        json!({"challenge": chal, "content": "flag{the-same-for-everyone}", "type": "static"}),
    );
    assert_eq!(static_flag.status, 200, "{}", static_flag.body);
    assert_eq!(
        attempt(&mut agent, "bob", chal, "flag{the-same-for-everyone}").0,
        "correct"
    );

    // 5. Red extends, then stops; blue stops. Nothing of theirs is left on the engine.
    let extended = instance_of(&agent.call(
        "alice",
        "PATCH",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    ));
    assert_eq!(extended["renewals"], 1);
    assert_eq!(extended["id"], red["id"]);
    for who in ["alice", "bob"] {
        let stopped = agent.call(
            who,
            "DELETE",
            &format!("/api/v1/ctfdeck/instances/{chal}"),
            json!({}),
        );
        assert_eq!(instance_of(&stopped), Value::Null);
    }
    let again = agent.call(
        "alice",
        "DELETE",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    );
    assert_eq!(
        (again.status, &again.body["error"]["code"]),
        (404, &json!("no-instance"))
    );
    assert_eq!(deck.leftovers(), (Vec::new(), Vec::new()));

    // A banned player gets nothing more.
    let me = agent.call("bob", "GET", "/api/v1/users/me", json!({}));
    let bob_id = me.body["data"]["id"].as_i64().unwrap();
    let ban = agent.call(
        "admin",
        "PATCH",
        &format!("/api/v1/users/{bob_id}"),
        json!({"banned": true}),
    );
    assert_eq!(ban.status, 200, "{}", ban.body);
    let banned = agent.call(
        "bob",
        "POST",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    );
    assert_eq!(banned.status, 403, "{}", banned.body);
    assert_eq!(deck.leftovers(), (Vec::new(), Vec::new()));

    // 6. User mode: the same for a user owner, and stop-on-solve.
    let mode = agent.call(
        "admin",
        "PATCH",
        "/api/v1/configs",
        json!({"user_mode": "users"}),
    );
    assert_eq!(mode.status, 200, "{}", mode.body);
    player(&mut agent, "carol", None);
    let carol = instance_of(&agent.call(
        "carol",
        "POST",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    ));
    let carol_id = carol["id"].as_str().unwrap().to_string();
    let owner = deck.store().instance(&carol_id).unwrap().unwrap().owner;
    assert!(owner.starts_with("user:"), "{owner}");
    let reset = instance_of(&agent.call(
        "carol",
        "POST",
        &format!("/api/v1/ctfdeck/instances/{chal}/reset"),
        json!({}),
    ));
    assert_ne!(reset["id"], carol["id"]);
    // Stop-on-solve, switched on through CTFd's admin API: carol's solve stops her instance.
    let update = agent.call(
        "admin",
        "PATCH",
        &format!("/api/v1/challenges/{chal}"),
        json!({"ctfdeck_stop_on_solve": "true"}),
    );
    assert_eq!(
        update.body["data"]["ctfdeck_stop_on_solve"], true,
        "{}",
        update.body
    );
    let carol_flag = solve_web_robots(reset["connection"][0].as_str().unwrap());
    assert_eq!(attempt(&mut agent, "carol", chal, &carol_flag).0, "correct");
    let after = agent.call(
        "carol",
        "GET",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    );
    assert_eq!(instance_of(&after), Value::Null);
    assert_eq!(deck.leftovers(), (Vec::new(), Vec::new()));

    // 7. ctfdeck down: the plugin says so clearly; CTFd's pages still load.
    assert_eq!(deck.terminate().code(), Some(0));
    let down = agent.call(
        "carol",
        "POST",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    );
    assert_eq!(down.status, 503, "{}", down.body);
    assert_eq!(down.body["error"]["code"], "ctfdeck-unreachable");
    assert!(
        down.body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("unreachable"),
        "{}",
        down.body
    );
    let (_, verdict) = attempt(&mut agent, "carol", chal, "flag{0000000000000000}");
    assert!(verdict.contains("could not be checked"), "{verdict}");
    for path in ["/challenges", "/scoreboard", "/"] {
        let (status, _) = agent.page("carol", path);
        assert_eq!(status, 200, "{path}");
    }
    assert_eq!(deck.leftovers(), (Vec::new(), Vec::new()));
}

/// A player clicks Start in the challenge's window (headless Chromium), reaches the instance,
/// then clicks Stop: the modal's script, the plugin's routes and ctfdeck together.
#[test]
fn a_player_clicks_start_and_stop_in_the_browser() {
    let _serial = one_at_a_time();
    let Some(tarball) = tarball() else { return };
    let Some(()) = chromium() else { return };
    let tree = CtfdTree::unpack(&tarball);
    let python = python(&tree);
    // One live instance per owner: a second Start is refused with a reason and a time.
    let deck = Deck::with_config("[quotas]\nper_owner = 1\n");
    let token = deck.cli(&["token", "add", "ctfd", "--role", "scoreboard"]);
    let ctfd = Ctfd::start(&tree, &python, &deck, token.trim());
    let mut agent = Agent::start(&python, &ctfd);
    agent.send(json!({"op": "setup", "mode": "teams", "name": "admin", "password": "adminpw"}));
    let chal = create_challenge(&mut agent, "Robots Only", "visible");
    create_challenge_of(&mut agent, "Calculator", "visible", "nc-calc");
    player(&mut agent, "alice", Some("red"));

    let started = &browser(&python, &ctfd, "alice", "Robots Only", &["start"])[0];
    assert_eq!(started["state"], "Status: running", "{started}");
    assert!(
        started["countdown"]
            .as_str()
            .unwrap()
            .starts_with("Time left: 4"),
        "{started}"
    );
    assert_eq!(
        started["enabled"],
        json!({"start": false, "extend": true, "reset": true, "stop": true})
    );
    // What the window shows is the team's instance, and it answers.
    let instance = instance_of(&agent.call(
        "alice",
        "GET",
        &format!("/api/v1/ctfdeck/instances/{chal}"),
        json!({}),
    ));
    assert_eq!(started["connection"], instance["connection"]);
    let flag = solve_web_robots(started["connection"][0].as_str().unwrap());
    let id = instance["id"].as_str().unwrap();
    assert_eq!(Some(flag), deck.store().instance(id).unwrap().unwrap().flag);

    // The countdown warns at 10 and at 2 minutes left (expiry moved near in the store).
    for (left_ms, warning) in [
        (9 * 60_000, "Less than 10 minutes"),
        (115_000, "Less than 2 minutes"),
    ] {
        let now = ctfdeck::store::now_millis();
        deck.store()
            .set_times(id, now - 60_000, now + left_ms)
            .unwrap();
        let looked = &browser(&python, &ctfd, "alice", "Robots Only", &["look"])[0];
        assert!(
            looked["warning"].as_str().unwrap().starts_with(warning),
            "{looked}"
        );
        assert!(
            looked["countdown"]
                .as_str()
                .unwrap()
                .starts_with("Time left: "),
            "{looked}"
        );
    }
    // Far again, so that the reaper leaves it be for the rest of the test.
    let now = ctfdeck::store::now_millis();
    deck.store()
        .set_times(id, now - 60_000, now + 40 * 60_000)
        .unwrap();

    // Start on another challenge: ctfdeck's quota says no; the window says why and until when,
    // and keeps Start disabled.
    let refused = &browser(&python, &ctfd, "alice", "Calculator", &["start"])[0];
    assert!(
        refused["error"]
            .as_str()
            .unwrap()
            .contains("per-owner quota"),
        "{refused}"
    );
    assert!(
        refused["reason"]
            .as_str()
            .unwrap()
            .starts_with("Start is possible again in about"),
        "{refused}"
    );
    assert_eq!(
        refused["enabled"],
        json!({"start": false, "extend": false, "reset": false, "stop": false})
    );

    // A new visit finds it running, and Stop (confirmed) ends it.
    let stopped = &browser(&python, &ctfd, "alice", "Robots Only", &["stop"])[0];
    assert!(
        stopped["state"]
            .as_str()
            .unwrap()
            .starts_with("No instance running"),
        "{stopped}"
    );
    assert_eq!(stopped["enabled"]["start"], true, "{stopped}");
    assert_eq!(stopped["error"], "", "{stopped}");
    assert_eq!(deck.leftovers(), (Vec::new(), Vec::new()));

    // With stop-on-solve: a new instance, its flag submitted in the window: correct, and the
    // window shows the instance gone.
    let update = agent.call(
        "admin",
        "PATCH",
        &format!("/api/v1/challenges/{chal}"),
        json!({"ctfdeck_stop_on_solve": true}),
    );
    assert_eq!(update.status, 200, "{}", update.body);
    let again = &browser(&python, &ctfd, "alice", "Robots Only", &["start"])[0];
    let flag = solve_web_robots(again["connection"][0].as_str().unwrap());
    let solved = &browser(
        &python,
        &ctfd,
        "alice",
        "Robots Only",
        &[&format!("submit:{flag}")],
    )[0];
    assert_eq!(solved["answer"], "Correct", "{solved}");
    assert!(
        solved["state"]
            .as_str()
            .unwrap()
            .starts_with("No instance running"),
        "{solved}"
    );
    assert_eq!(deck.leftovers(), (Vec::new(), Vec::new()));
}

/// A full event (global capacity of one): a team's Start takes a place in ctfdeck's spawn queue,
/// its window says which and that the instance will start by itself, Stop leaves the queue, and
/// when a slot frees the front team's instance starts without anyone clicking again.
#[test]
fn a_full_event_queues_players_and_starts_them_when_a_slot_frees() {
    let _serial = one_at_a_time();
    let Some(tarball) = tarball() else { return };
    let Some(()) = chromium() else { return };
    let tree = CtfdTree::unpack(&tarball);
    let python = python(&tree);
    let deck = Deck::with_config("[quotas]\nglobal = 1\n");
    let token = deck.cli(&["token", "add", "ctfd", "--role", "scoreboard"]);
    let ctfd = Ctfd::start(&tree, &python, &deck, token.trim());
    let mut agent = Agent::start(&python, &ctfd);
    agent.send(json!({"op": "setup", "mode": "teams", "name": "admin", "password": "adminpw"}));
    let chal = create_challenge(&mut agent, "Robots Only", "visible");
    let path = format!("/api/v1/ctfdeck/instances/{chal}");
    for (name, team) in [("alice", "red"), ("bob", "blue"), ("carol", "green")] {
        player(&mut agent, name, Some(team));
    }

    let red = instance_of(&agent.call("alice", "POST", &path, json!({})));
    assert_eq!(red["status"], "running", "{red}");

    // Full: blue and green queue, in order; neither has an instance.
    for (who, position) in [("bob", 1), ("carol", 2)] {
        let queued = agent.call(who, "POST", &path, json!({}));
        assert_eq!(queued.status, 202, "{}", queued.body);
        assert_eq!(
            queued.body["data"]["instance"],
            Value::Null,
            "{}",
            queued.body
        );
        assert_eq!(
            queued.body["data"]["queue"]["position"], position,
            "{}",
            queued.body
        );
    }
    let seen = agent.call("bob", "GET", &path, json!({}));
    assert_eq!(seen.body["data"]["queue"]["position"], 1, "{}", seen.body);
    assert!(
        seen.body["data"]["queue"]["estimate_seconds"]
            .as_i64()
            .unwrap()
            > 0,
        "{}",
        seen.body
    );

    // Blue's window: the place, Start disabled, Stop offered to leave.
    let looked = &browser(&python, &ctfd, "bob", "Robots Only", &["look"])[0];
    assert!(
        looked["state"]
            .as_str()
            .unwrap()
            .starts_with("The event is full: you are number 1 in the queue."),
        "{looked}"
    );
    assert_eq!(
        looked["enabled"],
        json!({"start": false, "extend": false, "reset": false, "stop": true}),
        "{looked}"
    );

    // Green leaves the queue with Stop.
    let left = agent.call("carol", "DELETE", &path, json!({}));
    assert_eq!(left.status, 200, "{}", left.body);
    let gone = agent.call("carol", "GET", &path, json!({}));
    assert_eq!(gone.body["data"], json!({"instance": null, "queue": null}));

    // Red stops: the slot goes to blue, whose instance starts by itself.
    let stopped = agent.call("alice", "DELETE", &path, json!({}));
    assert_eq!(stopped.status, 200, "{}", stopped.body);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let blue = loop {
        let now = agent.call("bob", "GET", &path, json!({}));
        let instance = &now.body["data"]["instance"];
        if instance["status"] == "running" {
            break instance.clone();
        }
        assert!(
            std::time::Instant::now() < deadline,
            "blue's instance did not start: {}",
            now.body
        );
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let flag = solve_web_robots(blue["connection"][0].as_str().unwrap());
    let id = blue["id"].as_str().unwrap();
    assert_eq!(Some(flag), deck.store().instance(id).unwrap().unwrap().flag);
    let green = agent.call("carol", "GET", &path, json!({}));
    assert_eq!(
        green.body["data"]["instance"],
        Value::Null,
        "{}",
        green.body
    );

    let done = agent.call("bob", "DELETE", &path, json!({}));
    assert_eq!(done.status, 200, "{}", done.body);
    assert_eq!(deck.leftovers(), (Vec::new(), Vec::new()));
}

/// The plugin's Python unit tests (contrib/ctfd/tests), with pytest in CTFd's venv.
#[test]
fn plugin_unit_tests_pass() {
    let Some(tarball) = tarball() else { return };
    let tree = CtfdTree::unpack(&tarball);
    let python = python(&tree);
    let out = Command::new(&python)
        .args(["-m", "pytest", "-q", "-p", "no:cacheprovider"])
        .arg(repo().join("contrib/ctfd/tests"))
        .env(
            "PYTHONPATH",
            format!(
                "{}:{}",
                repo().join("contrib/ctfd").display(),
                tree.root().display()
            ),
        )
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .current_dir(tree.root())
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "pytest failed:\n{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains(" passed"), "{text}");
}
