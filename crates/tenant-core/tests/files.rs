//! Files on both backends and both file stores (a local directory and a real
//! S3-compatible server): uploads kept by content with versions and a trash, what client
//! contacts see, limits and quotas checked while bytes stream, and uploads cut off half-way
//! leaving nothing behind.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use std::time::Duration;

use bytes::Bytes;
use futures_util::TryStreamExt as _;
use support::{TestFiles, both, context, file_stores, project, signed_in_admin, signed_in_user};
use tenant_core::access::permissions::need;
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::companies;
use tenant_core::objects::FileLimits;
use tenant_core::work::files::{self, FileChange, FileFilter, FileItem, UploadForm};
use tenant_core::work::projects::{self, Project};
use tenant_core::{Error, Platform, TenantContext, TenantStore};

const MIB: usize = 1024 * 1024;

/// Uploads `bytes` in chunks of `chunk` bytes.
async fn upload(
    store: &TenantStore,
    actor: &Principal,
    project: &Project,
    name: &str,
    bytes: &[u8],
    form: &UploadForm,
) -> Result<FileItem, Error> {
    let mut upload = files::begin_upload(store, actor, &project.id).await?;
    for chunk in bytes.chunks(64 * 1024) {
        upload.write(Bytes::copy_from_slice(chunk)).await?;
    }
    upload.finish(name, form).await
}

async fn download(
    store: &TenantStore,
    actor: &Principal,
    project: &Project,
    file: &str,
    version: Option<i64>,
    range: Option<std::ops::Range<u64>>,
) -> Result<Vec<u8>, Error> {
    let download = files::open_download(store, actor, &project.id, file, version).await?;
    let chunks: Vec<Bytes> = download.stream(range).await?.try_collect().await.unwrap();
    Ok(chunks.concat())
}

fn visible(visibility: &str) -> UploadForm {
    UploadForm {
        visibility: Some(visibility.to_owned()),
        ..UploadForm::default()
    }
}

/// Files on disk under the brand's prefix (a local store's staging files included).
fn files_on_disk(files: &TestFiles, context: &TenantContext) -> Vec<String> {
    let Some(dir) = &files.dir else {
        return Vec::new();
    };
    let root = dir
        .path()
        .join("files")
        .join("brands")
        .join(context.tenant.id.as_str());
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.path().is_dir() {
                stack.push(entry.path());
            } else {
                found.push(entry.path().display().to_string());
            }
        }
    }
    found
}

/// Waits (up to 10 s) until the brand keeps nothing in the store but `allowed` objects.
async fn objects_settle(files: &TestFiles, context: &TenantContext, allowed: usize) -> Vec<String> {
    let mut objects = Vec::new();
    for _ in 0..100 {
        objects = files.store.brand_objects(&context.tenant.id).await.unwrap();
        objects.extend(
            files_on_disk(files, context)
                .into_iter()
                .filter(|p| p.contains('#')),
        );
        if objects.len() <= allowed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    objects
}

/// Runs `test` on each backend with each file store, with a brand of its own.
async fn each_setup(limits: FileLimits, test: impl AsyncFn(&TenantContext, &TestFiles, &str)) {
    for backend in both().await {
        for files in file_stores(limits).await {
            let platform = Platform::open(&backend.backend).await.unwrap();
            platform.use_file_store(files.store.clone());
            let context = context(&platform, &format!("files-{}.test", files.kind)).await;
            test(
                &context,
                &files,
                &format!("{} + {}", backend.kind(), files.kind),
            )
            .await;
            platform.close().await;
        }
        backend.cleanup().await;
    }
}

#[tokio::test]
async fn uploads_are_kept_by_content_with_versions_a_trash_and_a_purge_on_every_backend_and_store()
{
    each_setup(FileLimits::default(), async |context, files, setup| {
        let store = context.store();
        let admin = signed_in_admin(store, "admin@agency.test").await;
        let project = project(store, &admin, None).await;

        // Larger than one part of a multipart upload, so the store sees several.
        let first: Vec<u8> = (0..(6 * MIB)).map(|i| (i % 251) as u8).collect();
        let file = upload(
            store,
            &admin,
            &project,
            "../../Brief.pdf",
            &first,
            &UploadForm::default(),
        )
        .await
        .unwrap();
        assert_eq!(file.current.name, "Brief.pdf", "{setup}");
        assert_eq!(file.visibility.as_str(), "internal", "{setup}: the default");
        assert_eq!(file.current.size, first.len() as i64, "{setup}");
        assert_eq!(file.current.version, 1, "{setup}");
        assert_eq!(
            file.current.content_type, "application/octet-stream",
            "{setup}: sniffed, not named"
        );
        let got = download(store, &admin, &project, &file.id, None, None)
            .await
            .unwrap();
        assert!(got == first, "{setup}: the bytes come back as sent");
        let part = download(store, &admin, &project, &file.id, None, Some(10..20))
            .await
            .unwrap();
        assert_eq!(part, first[10..20].to_vec(), "{setup}: a range");

        // A new version; the same bytes again share their content.
        let second = b"%PDF-1.7\nsecond version".to_vec();
        let replaced = UploadForm {
            replaces: Some(file.id.clone()),
            ..UploadForm::default()
        };
        let file2 = upload(store, &admin, &project, "Brief v2.pdf", &second, &replaced)
            .await
            .unwrap();
        assert_eq!(file2.id, file.id, "{setup}");
        assert_eq!(file2.current.version, 2, "{setup}");
        assert_eq!(file2.current.content_type, "application/pdf", "{setup}");
        let copy = upload(
            store,
            &admin,
            &project,
            "copy.bin",
            &first,
            &UploadForm::default(),
        )
        .await
        .unwrap();
        assert_eq!(copy.current.sha256, file.current.sha256, "{setup}");
        let (_, versions) = files::get_file(store, &admin, &project.id, &file.id)
            .await
            .unwrap();
        assert_eq!(
            versions.iter().map(|v| v.version).collect::<Vec<_>>(),
            [2, 1],
            "{setup}"
        );
        assert_eq!(
            versions[1].uploaded_by.as_deref(),
            Some(admin.user_id()),
            "{setup}"
        );
        let old = download(store, &admin, &project, &file.id, Some(1), None)
            .await
            .unwrap();
        assert!(old == first, "{setup}: an older version downloads");
        assert!(matches!(
            download(store, &admin, &project, &file.id, Some(3), None).await,
            Err(Error::NotFound(_))
        ));
        let blobs = files.store.brand_objects(&context.tenant.id).await.unwrap();
        assert_eq!(
            blobs.iter().filter(|p| p.starts_with("blobs/")).count(),
            2,
            "{setup}: two contents for three uploads of which two are the same: {blobs:?}"
        );
        assert!(
            !blobs.iter().any(|p| p.starts_with("staging/")),
            "{setup}: {blobs:?}"
        );
        let (used, _) = files::usage(store).await.unwrap();
        assert_eq!(used, (first.len() + second.len()) as u64, "{setup}");

        // Rename and visibility.
        let renamed = files::update_file(
            store,
            &admin,
            &project.id,
            &file.id,
            &FileChange {
                name: Some("Final brief.pdf".to_owned()),
                visibility: Some("client".to_owned()),
                task: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(renamed.current.name, "Final brief.pdf", "{setup}");
        assert_eq!(renamed.visibility.as_str(), "client", "{setup}");

        // The trash: out of the list, restorable, then purged after 30 days.
        files::delete_file(store, &admin, &project.id, &file.id)
            .await
            .unwrap();
        let listed =
            files::list_files(store, &admin, &project.id, &FileFilter::default(), None, 50)
                .await
                .unwrap();
        assert_eq!(
            listed
                .items
                .iter()
                .map(|f| f.id.as_str())
                .collect::<Vec<_>>(),
            [copy.id.as_str()],
            "{setup}"
        );
        assert!(matches!(
            download(store, &admin, &project, &file.id, None, None).await,
            Err(Error::NotFound(_))
        ));
        let trash = FileFilter {
            trash: true,
            ..FileFilter::default()
        };
        let in_trash = files::list_files(store, &admin, &project.id, &trash, None, 50)
            .await
            .unwrap();
        assert_eq!(in_trash.items.len(), 1, "{setup}");
        files::restore_file(store, &admin, &project.id, &file.id)
            .await
            .unwrap();
        assert!(
            download(store, &admin, &project, &file.id, None, None)
                .await
                .is_ok()
        );
        files::delete_file(store, &admin, &project.id, &file.id)
            .await
            .unwrap();
        files::delete_file(store, &admin, &project.id, &copy.id)
            .await
            .unwrap();

        let soon = time::OffsetDateTime::now_utc() + time::Duration::days(29);
        assert_eq!(
            files::purge(store, soon).await.unwrap(),
            files::Purged::default(),
            "{setup}"
        );
        let later = time::OffsetDateTime::now_utc() + time::Duration::days(31);
        let purged = files::purge(store, later).await.unwrap();
        assert_eq!((purged.files, purged.contents), (2, 2), "{setup}");
        let left = objects_settle(files, context, 0).await;
        assert!(
            left.is_empty(),
            "{setup}: nothing is kept once the last reference is purged: {left:?}"
        );
        assert_eq!(files::usage(store).await.unwrap().0, 0, "{setup}");
        let audit = tenant_core::audit::list_audit(
            store,
            &access::permit::<need::AuditView>(&admin, Scope::Brand).unwrap(),
            &tenant_core::audit::Filter::default(),
            None,
            200,
        )
        .await
        .unwrap();
        let actions: Vec<&str> = audit.items.iter().map(|e| e.action.as_str()).collect();
        for action in [
            "file.upload",
            "file.version",
            "file.update",
            "file.delete",
            "file.restore",
            "file.purge",
        ] {
            assert!(
                actions.contains(&action),
                "{setup}: {action} in {actions:?}"
            );
        }
    })
    .await;
}

#[tokio::test]
async fn clients_see_and_fetch_only_client_visible_files_of_their_company() {
    each_setup(FileLimits::default(), async |context, _files, setup| {
        let store = context.store();
        let admin = signed_in_admin(store, "admin@agency.test").await;
        let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
        let company = companies::create_company(store, &clients, "Acme", "")
            .await
            .unwrap();
        let other = companies::create_company(store, &clients, "Globex", "")
            .await
            .unwrap();
        let project = project(store, &admin, Some(&company.id)).await;
        let contact = signed_in_user(store, "contact@acme.test", "client", Some(&company.id)).await;
        let stranger = signed_in_user(store, "x@globex.test", "client", Some(&other.id)).await;
        let outsider = signed_in_user(store, "staff@agency.test", "staff", None).await;

        let internal = upload(
            store,
            &admin,
            &project,
            "notes.txt",
            b"internal notes",
            &UploadForm::default(),
        )
        .await
        .unwrap();
        let shared = upload(
            store,
            &admin,
            &project,
            "logo.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR",
            &visible("client"),
        )
        .await
        .unwrap();

        let seen = files::list_files(
            store,
            &contact,
            &project.id,
            &FileFilter::default(),
            None,
            50,
        )
        .await
        .unwrap();
        assert_eq!(
            seen.items.iter().map(|f| f.id.as_str()).collect::<Vec<_>>(),
            [shared.id.as_str()],
            "{setup}"
        );
        assert!(
            download(store, &contact, &project, &shared.id, None, None)
                .await
                .is_ok()
        );
        for attempt in [
            files::get_file(store, &contact, &project.id, &internal.id)
                .await
                .map(|_| ()),
            download(store, &contact, &project, &internal.id, None, None)
                .await
                .map(|_| ()),
            files::get_file(store, &stranger, &project.id, &shared.id)
                .await
                .map(|_| ()),
            files::get_file(store, &outsider, &project.id, &shared.id)
                .await
                .map(|_| ()),
            files::begin_upload(store, &stranger, &project.id)
                .await
                .map(|_| ()),
        ] {
            assert!(
                matches!(attempt, Err(Error::NotFound(_))),
                "{setup}: {attempt:?}"
            );
        }

        // A client's upload is client-visible; asking for internal is refused.
        let theirs = upload(
            store,
            &contact,
            &project,
            "photo.png",
            b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRxx",
            &UploadForm::default(),
        )
        .await
        .unwrap();
        assert_eq!(theirs.visibility.as_str(), "client", "{setup}");
        let refused = upload(
            store,
            &contact,
            &project,
            "x.png",
            b"abc",
            &visible("internal"),
        )
        .await;
        assert!(
            matches!(
                refused,
                Err(Error::Field {
                    field: "visibility",
                    ..
                })
            ),
            "{setup}: {refused:?}"
        );
        for refused in [
            files::delete_file(store, &contact, &project.id, &shared.id)
                .await
                .map(|_| ()),
            files::update_file(
                store,
                &contact,
                &project.id,
                &shared.id,
                &FileChange::default(),
            )
            .await
            .map(|_| ()),
            files::list_files(
                store,
                &contact,
                &project.id,
                &FileFilter {
                    trash: true,
                    ..FileFilter::default()
                },
                None,
                50,
            )
            .await
            .map(|_| ()),
        ] {
            assert!(
                matches!(refused, Err(Error::Forbidden(_))),
                "{setup}: {refused:?}"
            );
        }

        // Switching off a contact's uploads and downloads narrows their role.
        let switched = {
            let mut users = tenant_core::accounts::users::UserChange::default();
            let switches = tenant_core::access::permissions::PermissionSet::parse_words([
                "discussions.participate",
            ])
            .unwrap();
            users.switches = Some(Some(switches));
            tenant_core::accounts::users::update_user(
                store,
                &access::permit::<need::UsersManage>(&admin, Scope::Brand).unwrap(),
                contact.user_id(),
                &users,
            )
            .await
            .unwrap();
            support::sign_in_as(store, "contact@acme.test").await
        };
        assert!(matches!(
            download(store, &switched, &project, &shared.id, None, None).await,
            Err(Error::Forbidden(_))
        ));
        assert!(matches!(
            files::begin_upload(store, &switched, &project.id).await,
            Err(Error::Forbidden(_))
        ));
        assert!(
            matches!(
                files::open_preview(store, &switched, &project.id, &shared.id).await,
                Err(Error::Forbidden(_))
            ),
            "a preview is a copy of the content"
        );

        // Archived: nothing goes in.
        projects::set_archived(store, &admin, &project.id, true)
            .await
            .unwrap();
        assert!(matches!(
            files::begin_upload(store, &admin, &project.id).await,
            Err(Error::Conflict(_))
        ));
    })
    .await;
}

#[tokio::test]
async fn limits_and_quotas_are_checked_while_bytes_stream_and_a_cut_off_upload_leaves_nothing() {
    let limits = FileLimits {
        max_upload_bytes: 8 * MIB as u64,
        brand_quota_bytes: 12 * MIB as u64,
    };
    each_setup(limits, async |context, files, setup| {
        let store = context.store();
        let admin = signed_in_admin(store, "admin@agency.test").await;
        let project = project(store, &admin, None).await;

        // Over the file limit: refused at the byte that passes it, nothing kept.
        let mut too_big = files::begin_upload(store, &admin, &project.id)
            .await
            .unwrap();
        let chunk = Bytes::from(vec![7u8; MIB]);
        let mut refused = None;
        for sent in 1..=20 {
            if let Err(error) = too_big.write(chunk.clone()).await {
                refused = Some((sent, error));
                break;
            }
        }
        let (sent, error) = refused.expect("refused while streaming");
        assert_eq!(sent, 9, "{setup}: refused at the ninth MiB");
        assert!(matches!(error, Error::TooLarge(_)), "{setup}: {error:?}");
        drop(too_big);

        // Cut off half-way: the upload is dropped, as when a client goes away.
        let mut cut = files::begin_upload(store, &admin, &project.id)
            .await
            .unwrap();
        for _ in 0..6 {
            cut.write(chunk.clone()).await.unwrap();
        }
        drop(cut);
        let left = objects_settle(files, context, 0).await;
        assert!(
            left.is_empty(),
            "{setup}: nothing stays of unfinished uploads: {left:?}"
        );
        let listed =
            files::list_files(store, &admin, &project.id, &FileFilter::default(), None, 50)
                .await
                .unwrap();
        assert!(listed.items.is_empty(), "{setup}");

        // The quota: 7 MiB in, then 7 MiB more would pass 12 MiB.
        let seven: Vec<u8> = vec![1u8; 7 * MIB];
        upload(
            store,
            &admin,
            &project,
            "a.bin",
            &seven,
            &UploadForm::default(),
        )
        .await
        .unwrap();
        let other: Vec<u8> = vec![2u8; 7 * MIB];
        let over = upload(
            store,
            &admin,
            &project,
            "b.bin",
            &other,
            &UploadForm::default(),
        )
        .await;
        assert!(
            matches!(over, Err(Error::QuotaExceeded(_))),
            "{setup}: {over:?}"
        );
        let left = objects_settle(files, context, 1).await;
        assert_eq!(
            left.len(),
            1,
            "{setup}: only the first file's content: {left:?}"
        );
        assert_eq!(
            files::usage(store).await.unwrap(),
            (7 * MIB as u64, 12 * MIB as u64)
        );
    })
    .await;
}

fn png(width: u32, height: u32) -> Vec<u8> {
    let picture = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageRgb8(picture)
        .write_to(&mut std::io::Cursor::new(&mut out), image::ImageFormat::Png)
        .unwrap();
    out
}

/// A PNG of a few dozen bytes whose header claims 50,000 × 50,000 pixels.
fn bomb() -> Vec<u8> {
    let mut bytes = png(1, 1);
    bytes[16..20].copy_from_slice(&50_000u32.to_be_bytes());
    bytes[20..24].copy_from_slice(&50_000u32.to_be_bytes());
    let mut crc = 0xffff_ffffu32;
    for byte in &bytes[12..29] {
        crc ^= u32::from(*byte);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xedb8_8320
            } else {
                crc >> 1
            };
        }
    }
    bytes[29..33].copy_from_slice(&(!crc).to_be_bytes());
    bytes
}

#[tokio::test]
async fn images_get_previews_a_decompression_bomb_does_not_and_markup_is_never_served_as_itself() {
    each_setup(FileLimits::default(), async |context, _files, setup| {
        let store = context.store();
        let admin = signed_in_admin(store, "admin@agency.test").await;
        let project = project(store, &admin, None).await;
        let photo = upload(store, &admin, &project, "photo.png", &png(900, 300), &UploadForm::default())
            .await
            .unwrap();
        let bomb = upload(store, &admin, &project, "bomb.png", &bomb(), &UploadForm::default())
            .await
            .unwrap();
        assert_eq!(bomb.current.content_type, "image/png", "{setup}");
        let svg = upload(
            store,
            &admin,
            &project,
            "logo.svg",
            b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\" onload=\"alert(1)\"/>",
            &UploadForm::default(),
        )
        .await
        .unwrap();
        assert!(!photo.preview_ready, "{setup}: made in the background");
        let done = tenant_core::work::previews::make_previews(store).await.unwrap();
        assert_eq!((done.made, done.refused), (1, 1), "{setup}");
        let (file, preview) = files::open_preview(store, &admin, &project.id, &photo.id).await.unwrap();
        assert!(file.preview_ready, "{setup}");
        let shown = image::load_from_memory(&preview).unwrap();
        assert_eq!((shown.width(), shown.height()), (320, 107), "{setup}");
        for none in [&bomb.id, &svg.id] {
            let answer = files::open_preview(store, &admin, &project.id, none).await;
            assert!(matches!(answer, Err(Error::NotFound(_))), "{setup}: {answer:?}");
        }
        assert_eq!(svg.current.content_type, "image/svg+xml", "{setup}");
        assert_eq!(svg.current.served_type(), "application/octet-stream", "{setup}");
        assert!(!svg.current.shows_inline(), "{setup}");
        assert!(photo.current.shows_inline(), "{setup}");
        // Nothing is left to do.
        let again = tenant_core::work::previews::make_previews(store).await.unwrap();
        assert_eq!(again, tenant_core::work::previews::Previewed::default(), "{setup}");
    })
    .await;
}

#[tokio::test]
async fn purging_a_brand_removes_its_files_from_the_store_and_no_other_brands() {
    for backend in both().await {
        for files in file_stores(FileLimits::default()).await {
            let platform = Platform::open(&backend.backend).await.unwrap();
            platform.use_file_store(files.store.clone());
            let mut kept = Vec::new();
            for name in ["gone", "stays"] {
                let context = context(&platform, &format!("{name}-{}.test", files.kind)).await;
                let store = context.store();
                let admin = signed_in_admin(store, "admin@agency.test").await;
                let project = project(store, &admin, None).await;
                upload(
                    store,
                    &admin,
                    &project,
                    "a.txt",
                    name.as_bytes(),
                    &UploadForm::default(),
                )
                .await
                .unwrap();
                kept.push(context.tenant.clone());
            }
            let gone = &kept[0];
            platform
                .set_state(
                    &gone.domain,
                    tenant_core::TenantState::Removed,
                    &tenant_core::Standing::Development,
                )
                .await
                .unwrap();
            platform.purge(&gone.domain).await.unwrap();
            assert!(
                files
                    .store
                    .brand_objects(&gone.id)
                    .await
                    .unwrap()
                    .is_empty(),
                "{}",
                files.kind
            );
            assert_eq!(
                files.store.brand_objects(&kept[1].id).await.unwrap().len(),
                1,
                "{}",
                files.kind
            );
            platform.close().await;
        }
        backend.cleanup().await;
    }
}
