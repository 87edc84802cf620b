//! Team chat on both backends: who is in which channel (open, a team's, direct) and who is
//! refused, mentions of members only, history paging, read cursors that keep unread
//! counts right, events only to members, and two servers on one PostgreSQL database
//! writing at once without an unread count going wrong.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::time::Duration;

use support::{both, context, outcome, person};
use tenant_core::access::permissions::{PermissionSet, need};
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::roles::{self, NewRole};
use tenant_core::accounts::{companies, teams};
use tenant_core::events::{self, Credential, Follower, Next};
use tenant_core::talk::chat::{self, ChannelKind, NewChannel};
use tenant_core::talk::notifications::{self, Kind};
use tenant_core::{Error, Platform, TenantStore};

async fn follow(store: &TenantStore, email: &str) -> Follower {
    let (principal, secret) = support::signed_in_session(store, email).await;
    events::follow(store, principal, Credential::Session(secret), None)
        .await
        .unwrap()
}

/// The chat messages' bodies a stream received until it was quiet for a moment.
async fn chat_seen(follower: &mut Follower) -> Vec<String> {
    let mut seen = Vec::new();
    while let Ok(next) = tokio::time::timeout(Duration::from_millis(400), follower.next()).await {
        match next {
            Next::Events(batch) => {
                for (_, view) in batch {
                    if view["kind"] == "chat.message" {
                        seen.push(view["data"]["html"].as_str().unwrap_or("").to_owned());
                    }
                }
            }
            Next::Heartbeat => {}
            Next::End => break,
        }
    }
    seen
}

struct Staff {
    admin: Principal,
    ana: Principal,
    ben: Principal,
    /// Staff whose role has no chat.team.
    quiet: Principal,
    client: Principal,
}

async fn staff(s: &TenantStore) -> (Staff, String) {
    let admin = person(s, "admin@chat.test", "Ada Admin", "admin", None).await;
    let ana = person(s, "ana@chat.test", "Ana Designer", "staff", None).await;
    let ben = person(s, "ben@chat.test", "Ben Writer", "staff", None).await;
    let roles_permit = access::permit::<need::RolesManage>(&admin, Scope::Brand).unwrap();
    let no_chat = roles::create_role(
        s,
        &roles_permit,
        &NewRole {
            name: "No chat".to_owned(),
            kind: tenant_core::access::UserKind::Staff,
            permissions: PermissionSet::parse_words(["tasks.edit"]).unwrap(),
        },
    )
    .await
    .unwrap();
    let quiet = person(s, "quiet@chat.test", "Quinn Quiet", &no_chat.id, None).await;
    let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
    let acme = companies::create_company(s, &clients, "Acme", "")
        .await
        .unwrap();
    let client = person(s, "cleo@acme.test", "Cleo Client", "client", Some(&acme.id)).await;
    let teams_permit = access::permit::<need::TeamsManage>(&admin, Scope::Brand).unwrap();
    let design = teams::create_team(s, &teams_permit, "Design")
        .await
        .unwrap();
    teams::add_member(s, &teams_permit, &design.id, ana.user_id())
        .await
        .unwrap();
    (
        Staff {
            admin,
            ana,
            ben,
            quiet,
            client,
        },
        design.id,
    )
}

/// A new channel named `name`, of `team` when given.
fn open(name: &str, team: Option<&str>) -> NewChannel {
    NewChannel {
        name: name.to_owned(),
        team: team.map(str::to_owned),
    }
}

#[tokio::test]
async fn channels_are_seen_by_their_members_only() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "chat.test").await;
        let s = a.store();
        let (people, design) = staff(s).await;
        let general = chat::create_channel(s, &people.ben, &open("#general", None))
            .await
            .unwrap();
        assert_eq!(general.name, "general");
        assert_eq!(general.kind, ChannelKind::Open);
        assert_eq!(
            outcome(&chat::create_channel(s, &people.ana, &open("General", None)).await),
            "409"
        );
        assert_eq!(
            outcome(&chat::create_channel(s, &people.ben, &open("design", Some(&design))).await),
            "403",
            "not in the team"
        );
        assert_eq!(
            outcome(&chat::create_channel(s, &people.ben, &open("x", Some("nope"))).await),
            "422"
        );
        let team_room = chat::create_channel(s, &people.ana, &open("design", Some(&design)))
            .await
            .unwrap();
        assert_eq!(
            outcome(&chat::create_channel(s, &people.client, &open("portal", None)).await),
            "403"
        );
        assert_eq!(outcome(&chat::list_channels(s, &people.quiet).await), "403");

        let direct = chat::open_direct(s, &people.ana, people.ben.user_id())
            .await
            .unwrap();
        assert_eq!(direct.name, "Ben Writer");
        let again = chat::open_direct(s, &people.ben, people.ana.user_id())
            .await
            .unwrap();
        assert_eq!(again.id, direct.id, "found again, from either side");
        assert_eq!(again.name, "Ana Designer");
        assert_eq!(
            outcome(&chat::open_direct(s, &people.ana, people.ana.user_id()).await),
            "422"
        );
        assert_eq!(
            outcome(&chat::open_direct(s, &people.ana, people.quiet.user_id()).await),
            "422"
        );
        assert_eq!(
            outcome(&chat::open_direct(s, &people.ana, people.client.user_id()).await),
            "422"
        );

        let names = |list: Vec<chat::Channel>| list.into_iter().map(|c| c.name).collect::<Vec<_>>();
        assert_eq!(
            names(chat::list_channels(s, &people.ana).await.unwrap()),
            ["design", "general", "Ben Writer"]
        );
        assert_eq!(
            names(chat::list_channels(s, &people.ben).await.unwrap()),
            ["general", "Ana Designer"]
        );
        assert_eq!(
            names(chat::list_channels(s, &people.admin).await.unwrap()),
            ["general"]
        );

        // Outside a channel it does not exist; writing there neither.
        for (who, channel, expected) in [
            (&people.admin, &team_room.id, "404"),
            (&people.admin, &direct.id, "404"),
            (&people.ben, &team_room.id, "404"),
            (&people.client, &general.id, "403"),
            (&people.quiet, &general.id, "403"),
            (&people.ana, &team_room.id, "ok"),
        ] {
            assert_eq!(
                outcome(&chat::list_messages(s, who, channel, None, 50).await),
                expected
            );
            assert_eq!(
                outcome(&chat::post_message(s, who, channel, "hello").await),
                expected
            );
        }

        // Events: members only.
        let mut ana_stream = follow(s, "ana@chat.test").await;
        let mut ben_stream = follow(s, "ben@chat.test").await;
        let mut admin_stream = follow(s, "admin@chat.test").await;
        let mut client_stream = follow(s, "cleo@acme.test").await;
        chat::post_message(s, &people.ana, &team_room.id, "team only")
            .await
            .unwrap();
        chat::post_message(s, &people.ana, &direct.id, "just us")
            .await
            .unwrap();
        chat::post_message(s, &people.ben, &general.id, "everyone")
            .await
            .unwrap();
        assert_eq!(
            chat_seen(&mut ana_stream).await,
            ["<p>team only</p>", "<p>just us</p>", "<p>everyone</p>"]
        );
        assert_eq!(
            chat_seen(&mut ben_stream).await,
            ["<p>just us</p>", "<p>everyone</p>"]
        );
        assert_eq!(chat_seen(&mut admin_stream).await, ["<p>everyone</p>"]);
        assert!(chat_seen(&mut client_stream).await.is_empty());

        // Mentions: members only, and told.
        let refused = chat::post_message(s, &people.ana, &direct.id, "cc @Ada Admin").await;
        assert_eq!(
            outcome(&refused),
            "422",
            "the admin is not in the direct channel"
        );
        chat::post_message(s, &people.ben, &general.id, "@Ana Designer look")
            .await
            .unwrap();
        let told = notifications::list(s, &people.ana, false, None, 50)
            .await
            .unwrap()
            .items;
        assert_eq!(told[0].kind, Kind::Mentioned);
        assert!(
            told[0]
                .link
                .starts_with(&format!("/chat/{}#message-", general.id)),
            "{}",
            told[0].link
        );
        test_store.cleanup().await;
    }
}

#[tokio::test]
async fn unread_counts_follow_a_read_cursor_and_history_pages_back() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "chat.test").await;
        let s = a.store();
        let (people, _) = staff(s).await;
        let general = chat::create_channel(
            s,
            &people.ana,
            &NewChannel {
                name: "general".to_owned(),
                team: None,
            },
        )
        .await
        .unwrap();
        let mut ids = Vec::new();
        for i in 0..7 {
            ids.push(
                chat::post_message(s, &people.ana, &general.id, &format!("m{i}"))
                    .await
                    .unwrap()
                    .id,
            );
        }
        let channel_id = general.id.clone();
        let unread =
            async |who: &Principal| chat::get_channel(s, who, &channel_id).await.unwrap().unread;
        assert_eq!(unread(&people.ben).await, 7);
        assert_eq!(
            unread(&people.ana).await,
            0,
            "one's own messages are never unread"
        );
        assert_eq!(chat::unread_total(s, &people.ben).await.unwrap(), 7);
        assert_eq!(chat::unread_total(s, &people.client).await.unwrap(), 0);

        // History: newest first, paging back without gaps or repeats.
        let first = chat::list_messages(s, &people.ben, &general.id, None, 3)
            .await
            .unwrap();
        let second =
            chat::list_messages(s, &people.ben, &general.id, first.next_cursor.as_deref(), 3)
                .await
                .unwrap();
        let third = chat::list_messages(
            s,
            &people.ben,
            &general.id,
            second.next_cursor.as_deref(),
            3,
        )
        .await
        .unwrap();
        let all: Vec<String> = [first.items, second.items, third.items]
            .concat()
            .into_iter()
            .map(|m| m.body.markdown().to_owned())
            .collect();
        assert_eq!(all, ["m6", "m5", "m4", "m3", "m2", "m1", "m0"]);
        assert!(third.next_cursor.is_none());

        // Reading: up to a message; never back; only this channel's messages.
        assert_eq!(
            chat::mark_read(s, &people.ben, &general.id, &ids[3])
                .await
                .unwrap()
                .unread,
            3
        );
        assert_eq!(
            chat::mark_read(s, &people.ben, &general.id, &ids[1])
                .await
                .unwrap()
                .unread,
            3,
            "never back"
        );
        assert_eq!(
            outcome(&chat::mark_read(s, &people.ben, &general.id, "nope").await),
            "422"
        );
        let other = chat::open_direct(s, &people.ben, people.ana.user_id())
            .await
            .unwrap();
        let elsewhere = chat::post_message(s, &people.ana, &other.id, "dm")
            .await
            .unwrap();
        assert_eq!(
            outcome(&chat::mark_read(s, &people.ben, &general.id, &elsewhere.id).await),
            "422"
        );
        assert_eq!(chat::unread_total(s, &people.ben).await.unwrap(), 4);
        assert_eq!(
            chat::mark_read(s, &people.ben, &general.id, &ids[6])
                .await
                .unwrap()
                .unread,
            0
        );
        test_store.cleanup().await;
    }
}

#[tokio::test]
async fn two_servers_writing_at_once_keep_every_unread_count_right() {
    let Some(store) = support::postgres(16).await else {
        return;
    };
    let one = std::sync::Arc::new(Platform::open(&store.backend).await.unwrap());
    let a = context(&one, "chat.test").await;
    let (people, _) = staff(a.store()).await;
    let general = chat::create_channel(
        a.store(),
        &people.ana,
        &NewChannel {
            name: "general".to_owned(),
            team: None,
        },
    )
    .await
    .unwrap();
    let two = std::sync::Arc::new(Platform::open(&store.backend).await.unwrap());
    let following = support::following(&two).await;
    let on_two = two
        .context_for(
            &support::host("chat.test"),
            &tenant_core::Standing::Development,
        )
        .await
        .unwrap()
        .unwrap()
        .0;
    let mut admin_on_two = follow(on_two.store(), "admin@chat.test").await;

    // Ana writes through server one while Ben writes through server two, at once.
    let write = |store: TenantStore, who: Principal, prefix: &'static str| {
        let channel = general.id.clone();
        tokio::spawn(async move {
            for i in 0..20 {
                chat::post_message(&store, &who, &channel, &format!("{prefix}{i}"))
                    .await
                    .unwrap();
            }
        })
    };
    let first = write(a.store().clone(), people.ana.clone(), "a");
    let second = write(on_two.store().clone(), people.ben.clone(), "b");
    first.await.unwrap();
    second.await.unwrap();

    assert_eq!(
        chat::get_channel(a.store(), &people.admin, &general.id)
            .await
            .unwrap()
            .unread,
        40
    );
    assert_eq!(
        chat::get_channel(on_two.store(), &people.admin, &general.id)
            .await
            .unwrap()
            .unread,
        40
    );
    // Writing reads the channel up to one's own message: what is unread for each writer is
    // the other's messages after their own last one.
    let history = chat::list_messages(a.store(), &people.admin, &general.id, None, 200)
        .await
        .unwrap();
    let after_last_of = |author: &str| {
        history
            .items
            .iter()
            .take_while(|m| m.author_id.as_deref() != Some(author))
            .count() as i64
    };
    assert_eq!(
        chat::get_channel(a.store(), &people.ana, &general.id)
            .await
            .unwrap()
            .unread,
        after_last_of(people.ana.user_id())
    );
    assert_eq!(
        chat::get_channel(on_two.store(), &people.ben, &general.id)
            .await
            .unwrap()
            .unread,
        after_last_of(people.ben.user_id())
    );
    // The stream on server two got all forty, in the order they were stored.
    let mut seen = Vec::new();
    while seen.len() < 40 {
        let got = chat_seen(&mut admin_on_two).await;
        assert!(!got.is_empty(), "only {} of 40 arrived", seen.len());
        seen.extend(got);
    }
    let mut stored: Vec<String> = history
        .items
        .iter()
        .map(|m| m.body.html().to_owned())
        .collect();
    stored.reverse();
    assert_eq!(seen, stored);
    // Read on one server, counted the same on the other.
    let newest = &history.items[0].id;
    chat::mark_read(on_two.store(), &people.admin, &general.id, newest)
        .await
        .unwrap();
    assert_eq!(
        chat::get_channel(a.store(), &people.admin, &general.id)
            .await
            .unwrap()
            .unread,
        0
    );
    following.abort();
    store.cleanup().await;
}

#[tokio::test]
async fn at_completes_to_the_members_of_the_channel_only() {
    for test_store in both().await {
        let platform = Platform::open(&test_store.backend).await.unwrap();
        let a = context(&platform, "chat.test").await;
        let s = a.store();
        let (people, design) = staff(s).await;
        let general = chat::create_channel(s, &people.admin, &open("general", None))
            .await
            .unwrap();
        let teams_permit =
            access::permit::<need::TeamsManage>(&people.admin, Scope::Brand).unwrap();
        teams::add_member(s, &teams_permit, &design, people.admin.user_id())
            .await
            .unwrap();
        let team = chat::create_channel(s, &people.admin, &open("design", Some(&design)))
            .await
            .unwrap();
        let names = |found: Vec<tenant_core::talk::threads::Person>| -> Vec<String> {
            found.into_iter().map(|p| p.name).collect()
        };
        // An open channel: every member who uses chat but oneself (not Quinn, who has no
        // chat, nor the client); narrowed by what was typed.
        let all = chat::mentionable(s, &people.ana, &general.id, None)
            .await
            .unwrap();
        assert_eq!(
            names(all),
            ["Ada Admin", "Ben Writer"],
            "{}",
            test_store.kind()
        );
        let typed = chat::mentionable(s, &people.ana, &general.id, Some("be"))
            .await
            .unwrap();
        assert_eq!(names(typed), ["Ben Writer"]);
        // A team's channel: its members only (the admin, who joined the team, and Ana).
        let in_team = chat::mentionable(s, &people.admin, &team.id, None)
            .await
            .unwrap();
        assert_eq!(names(in_team), ["Ana Designer"]);
        // Not a member, no chat, a client: as for the channel itself.
        assert!(matches!(
            chat::mentionable(s, &people.ben, &team.id, None).await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            chat::mentionable(s, &people.quiet, &general.id, None).await,
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            chat::mentionable(s, &people.client, &general.id, None).await,
            Err(Error::Forbidden(_))
        ));
        platform.close().await;
        test_store.cleanup().await;
    }
}
