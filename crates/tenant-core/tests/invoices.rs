//! Invoices on both backends: exact totals, numbers given at sending (gap-free, never
//! twice, consecutive under 20 sends at once), a sent invoice never changed, payments in
//! part and never more than is owed, cancelling with a credit note, who sees which
//! invoice (a client never a draft or another company's), and a Bookkeeper role with
//! invoices but no files.

#![allow(clippy::unwrap_used)] // a test that cannot set up should panic

mod support;

use support::{both, context, outcome, person};
use tenant_core::access::permissions::{PermissionSet, need};
use tenant_core::access::{self, Principal, Scope, UserKind};
use tenant_core::accounts::companies;
use tenant_core::accounts::roles::{self, NewRole};
use tenant_core::finance::invoices::{
    self, InvoiceChange, InvoiceFilter, NewInvoice, NewLine, NewPayment, Status,
};
use tenant_core::finance::invoicing::{self, InvoicingChange};
use tenant_core::{Platform, TenantStore};

struct Books {
    admin: Principal,
    acme: String,
    globex: String,
    acme_contact: Principal,
    globex_contact: Principal,
    staff: Principal,
}

async fn books(s: &TenantStore) -> Books {
    let admin = person(s, "admin@books.test", "Ada Admin", "admin", None).await;
    let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
    let acme = companies::create_company(s, &clients, "Acme GmbH", "Hauptstraße 1\n10115 Berlin")
        .await
        .unwrap();
    let globex = companies::create_company(s, &clients, "Globex", "")
        .await
        .unwrap();
    let acme_contact = person(s, "cleo@acme.test", "Cleo", "client", Some(&acme.id)).await;
    let globex_contact = person(s, "gil@globex.test", "Gil", "client", Some(&globex.id)).await;
    let staff = person(s, "sam@books.test", "Sam Staff", "staff", None).await;
    let manage = access::permit::<need::InvoicesManage>(&admin, Scope::Brand).unwrap();
    invoicing::set_invoicing(
        s,
        &manage,
        &InvoicingChange {
            legal_name: Some("Studio Nord GmbH".to_owned()),
            address: Some("Am Hafen 5\n20457 Hamburg".to_owned()),
            tax_id: Some("DE123456789".to_owned()),
            bank_details: Some("IBAN DE02 1203 0000 0000 2020 51".to_owned()),
            ..InvoicingChange::default()
        },
    )
    .await
    .unwrap();
    Books {
        admin,
        acme: acme.id,
        globex: globex.id,
        acme_contact,
        globex_contact,
        staff,
    }
}

fn line(
    description: &str,
    quantity: &str,
    price: &str,
    rate: &str,
    discount: Option<&str>,
) -> NewLine {
    NewLine {
        description: description.to_owned(),
        quantity: quantity.to_owned(),
        unit_price: price.to_owned(),
        tax_rate: rate.to_owned(),
        discount: discount.map(str::to_owned),
    }
}

async fn draft(s: &TenantStore, admin: &Principal, company: &str) -> invoices::Invoice {
    let permit = access::permit::<need::InvoicesCreate>(admin, Scope::Brand).unwrap();
    invoices::create_invoice(
        s,
        &permit,
        &NewInvoice {
            company: company.to_owned(),
            lines: vec![
                line("Design, hours", "3", "33.3333", "19", None),
                line("Hosting", "1.5", "80", "7", Some("10")),
            ],
            ..NewInvoice::default()
        },
    )
    .await
    .unwrap()
}

async fn send(
    s: &TenantStore,
    admin: &Principal,
    id: &str,
) -> tenant_core::Result<invoices::Invoice> {
    let permit = access::permit::<need::InvoicesManage>(admin, Scope::Brand).unwrap();
    invoices::send_invoice(s, &permit, id).await
}

fn this_year() -> i32 {
    time::OffsetDateTime::now_utc().year()
}

#[tokio::test]
async fn a_draft_is_totalled_exactly_numbered_at_sending_and_never_changed_after() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let d = draft(s, &b.admin, &b.acme).await;
        // 3 × 33.3333 = 99.9999 → 100.00; 1.5 × 80 − 10 % = 108.00; taxes once per rate:
        // 19 % of 100.00 = 19.00, 7 % of 108.00 = 7.56.
        assert_eq!(d.status, Status::Draft);
        assert_eq!(d.number, None);
        assert_eq!(d.currency.code(), "EUR");
        assert_eq!((d.net, d.tax, d.total), (20_800, 2_656, 23_456));
        assert_eq!(
            d.lines.iter().map(|l| l.net).collect::<Vec<_>>(),
            [10_000, 10_800]
        );
        assert_eq!(
            d.taxes.iter().map(|t| t.tax).collect::<Vec<_>>(),
            [756, 1_900]
        );
        assert_eq!(d.seller.name, "Studio Nord GmbH");
        assert_eq!(d.buyer.name, "Acme GmbH");

        // A wrong line is a field error naming the line, and changes nothing.
        let create = access::permit::<need::InvoicesCreate>(&b.admin, Scope::Brand).unwrap();
        let wrong = invoices::update_invoice(
            s,
            &create,
            &d.id,
            &InvoiceChange {
                lines: Some(vec![line("Design", "2", "12.5x", "19", None)]),
                ..InvoiceChange::default()
            },
        )
        .await;
        match &wrong {
            Err(tenant_core::Error::Field { field, message }) => {
                assert_eq!(*field, "lines");
                assert!(
                    message.contains("line 1") && message.contains("unit price"),
                    "{message}"
                );
            }
            other => panic!("expected a field error, got {other:?}"),
        }
        let unchanged = invoices::get_invoice(s, &b.admin, &d.id).await.unwrap();
        assert_eq!(unchanged.total, 23_456);

        let sent = send(s, &b.admin, &d.id).await.unwrap();
        assert_eq!(sent.status, Status::Sent);
        assert_eq!(
            sent.number.as_deref(),
            Some(format!("{}-0001", this_year()).as_str())
        );
        assert_eq!(sent.issued_on, time::OffsetDateTime::now_utc().date());
        assert_eq!(sent.seller.tax_id, "DE123456789");
        assert_eq!(sent.buyer.details, "Hauptstraße 1\n10115 Berlin");

        // Sent: never changed in place, never removed, never sent again.
        let change = invoices::update_invoice(
            s,
            &create,
            &d.id,
            &InvoiceChange {
                notes: Some("changed".to_owned()),
                ..InvoiceChange::default()
            },
        )
        .await;
        assert_eq!(outcome(&change), "409");
        assert_eq!(
            outcome(&invoices::delete_invoice(s, &create, &d.id).await),
            "409"
        );
        assert_eq!(outcome(&send(s, &b.admin, &d.id).await), "409");

        // Settings changed later leave the sent invoice as it was sent.
        let manage = access::permit::<need::InvoicesManage>(&b.admin, Scope::Brand).unwrap();
        invoicing::set_invoicing(
            s,
            &manage,
            &InvoicingChange {
                legal_name: Some("Studio Süd AG".to_owned()),
                ..InvoicingChange::default()
            },
        )
        .await
        .unwrap();
        let again = invoices::get_invoice(s, &b.admin, &d.id).await.unwrap();
        assert_eq!(again.seller.name, "Studio Nord GmbH");

        // The next draft sent takes the next number; a draft removed leaves no gap.
        let gone = draft(s, &b.admin, &b.acme).await;
        invoices::delete_invoice(s, &create, &gone.id)
            .await
            .unwrap();
        let next = draft(s, &b.admin, &b.globex).await;
        let next = send(s, &b.admin, &next.id).await.unwrap();
        assert_eq!(
            next.number.as_deref(),
            Some(format!("{}-0002", this_year()).as_str())
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn twenty_sends_at_once_give_twenty_consecutive_numbers() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let manage = access::permit::<need::InvoicesManage>(&b.admin, Scope::Brand).unwrap();
        invoicing::set_invoicing(
            s,
            &manage,
            &InvoicingChange {
                number_pattern: Some("INV-{YYYY}-{seq:5}".to_owned()),
                next_invoice_number: Some(100),
                ..InvoicingChange::default()
            },
        )
        .await
        .unwrap();
        let mut drafts = Vec::new();
        for _ in 0..20 {
            drafts.push(draft(s, &b.admin, &b.acme).await.id);
        }
        let sends = drafts.iter().map(|id| {
            let s = s.clone();
            let admin = b.admin.clone();
            let id = id.clone();
            tokio::spawn(async move { send(&s, &admin, &id).await })
        });
        let mut numbers: Vec<String> = futures_util::future::join_all(sends)
            .await
            .into_iter()
            .map(|r| r.unwrap().unwrap().number.unwrap())
            .collect();
        numbers.sort();
        let expected: Vec<String> = (100..120)
            .map(|n| format!("INV-{}-{n:05}", this_year()))
            .collect();
        assert_eq!(numbers, expected, "on {}", store.kind());
        // A number given already is never set again as the next.
        let back = invoicing::set_invoicing(
            s,
            &manage,
            &InvoicingChange {
                next_invoice_number: Some(110),
                ..InvoicingChange::default()
            },
        )
        .await;
        assert_eq!(outcome(&back), "422");
        let view = invoicing::invoicing(s, &manage).await.unwrap();
        assert_eq!(view.next_invoice_number, 120);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_client_sees_their_companys_sent_invoices_only() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let acme_draft = draft(s, &b.admin, &b.acme).await;
        let acme_sent = draft(s, &b.admin, &b.acme).await;
        send(s, &b.admin, &acme_sent.id).await.unwrap();
        let globex_sent = draft(s, &b.admin, &b.globex).await;
        send(s, &b.admin, &globex_sent.id).await.unwrap();

        let listed = |viewer: Principal, filter: InvoiceFilter| {
            let s = s.clone();
            async move {
                invoices::list_invoices(&s, &viewer, &filter, None, 50)
                    .await
                    .map(|page| page.items.into_iter().map(|i| i.id).collect::<Vec<_>>())
            }
        };
        let all = InvoiceFilter::default();
        assert_eq!(
            listed(b.acme_contact.clone(), all.clone()).await.unwrap(),
            vec![acme_sent.id.clone()]
        );
        assert_eq!(
            listed(b.globex_contact.clone(), all.clone()).await.unwrap(),
            vec![globex_sent.id.clone()]
        );
        // Asking for another company's gives nothing, not theirs.
        let other = InvoiceFilter {
            company: Some(b.globex.clone()),
            ..InvoiceFilter::default()
        };
        assert!(
            listed(b.acme_contact.clone(), other)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(listed(b.admin.clone(), all.clone()).await.unwrap().len(), 3);
        let drafts = InvoiceFilter {
            status: Some("draft".to_owned()),
            ..InvoiceFilter::default()
        };
        assert_eq!(
            listed(b.admin.clone(), drafts.clone()).await.unwrap(),
            vec![acme_draft.id.clone()]
        );
        assert!(
            listed(b.acme_contact.clone(), drafts)
                .await
                .unwrap()
                .is_empty()
        );
        let bad = InvoiceFilter {
            status: Some("lost".to_owned()),
            ..InvoiceFilter::default()
        };
        assert_eq!(outcome(&listed(b.admin.clone(), bad).await), "422");

        // One at a time: a draft and another company's do not exist for a client.
        for (viewer, id, expected) in [
            (&b.acme_contact, &acme_sent.id, "ok"),
            (&b.acme_contact, &acme_draft.id, "404"),
            (&b.acme_contact, &globex_sent.id, "404"),
            (&b.globex_contact, &acme_sent.id, "404"),
            (&b.admin, &acme_draft.id, "ok"),
            // The built-in staff role holds no invoice permission.
            (&b.staff, &acme_sent.id, "403"),
        ] {
            let got = invoices::get_invoice(s, viewer, id).await;
            assert_eq!(outcome(&got), expected, "{} reads {id}", viewer.email());
            let payments = invoices::list_payments(s, viewer, id).await;
            assert_eq!(
                outcome(&payments),
                expected,
                "{} reads payments of {id}",
                viewer.email()
            );
        }
        assert_eq!(outcome(&listed(b.staff.clone(), all).await), "403");
        // Clients never create, send or record payments.
        assert!(
            access::permit::<need::InvoicesCreate>(&b.acme_contact, Scope::Company(&b.acme))
                .is_err()
        );
        assert!(
            access::permit::<need::InvoicesManage>(&b.acme_contact, Scope::Company(&b.acme))
                .is_err()
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn payments_pay_in_part_then_in_full_and_never_more_than_is_owed() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let d = draft(s, &b.admin, &b.acme).await;
        let manage = access::permit::<need::InvoicesManage>(&b.admin, Scope::Brand).unwrap();
        let pay = |amount: &str, method: &str| NewPayment {
            amount: amount.to_owned(),
            paid_on: None,
            method: method.to_owned(),
            reference: Some("Bank ref 42".to_owned()),
        };
        // Not before it is sent.
        let early =
            invoices::record_payment(s, &manage, &d.id, &pay("10.00", "bank_transfer")).await;
        assert_eq!(outcome(&early), "409");
        send(s, &b.admin, &d.id).await.unwrap();
        let (after, payment) =
            invoices::record_payment(s, &manage, &d.id, &pay("100.00", "bank_transfer"))
                .await
                .unwrap();
        assert_eq!(after.status, Status::PartiallyPaid);
        assert_eq!((after.paid, after.balance()), (10_000, 13_456));
        assert_eq!(payment.amount, 10_000);
        assert_eq!(payment.status, "succeeded");
        for (amount, method, why) in [
            ("134.57", "cash", "more than is left"),
            ("0", "cash", "zero"),
            ("-5", "cash", "negative"),
            ("1.001", "cash", "finer than a cent"),
            ("ten", "cash", "not a number"),
            ("1.00", "barter", "an unknown method"),
        ] {
            let refused = invoices::record_payment(s, &manage, &d.id, &pay(amount, method)).await;
            assert_eq!(outcome(&refused), "422", "{why}");
        }
        let future = NewPayment {
            paid_on: Some("2999-01-01".to_owned()),
            ..pay("1.00", "cash")
        };
        assert_eq!(
            outcome(&invoices::record_payment(s, &manage, &d.id, &future).await),
            "422"
        );
        let unchanged = invoices::get_invoice(s, &b.admin, &d.id).await.unwrap();
        assert_eq!(unchanged.paid, 10_000);
        assert_eq!(
            invoices::list_payments(s, &b.admin, &d.id)
                .await
                .unwrap()
                .len(),
            1
        );

        let (paid, _) = invoices::record_payment(s, &manage, &d.id, &pay("134.56", "cash"))
            .await
            .unwrap();
        assert_eq!(paid.status, Status::Paid);
        assert_eq!(paid.balance(), 0);
        let more = invoices::record_payment(s, &manage, &d.id, &pay("1.00", "cash")).await;
        assert_eq!(outcome(&more), "409");
        // The client sees the payments of their invoice.
        let seen = invoices::list_payments(s, &b.acme_contact, &d.id)
            .await
            .unwrap();
        assert_eq!(seen.iter().map(|p| p.amount).sum::<i64>(), 23_456);
        // The history tells what happened, in order.
        let view = access::permit::<need::InvoicesView>(&b.admin, Scope::Brand).unwrap();
        let history = invoices::history(s, &view, &d.id).await.unwrap();
        let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
        assert_eq!(actions, ["created", "sent", "payment", "payment"]);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn cancelling_makes_a_credit_note_of_its_own_number_with_every_line_negated() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let d = draft(s, &b.admin, &b.acme).await;
        let manage = access::permit::<need::InvoicesManage>(&b.admin, Scope::Brand).unwrap();
        assert_eq!(
            outcome(&invoices::cancel_invoice(s, &manage, &d.id, "wrong client").await),
            "409",
            "a draft is removed, not cancelled"
        );
        let sent = send(s, &b.admin, &d.id).await.unwrap();
        assert_eq!(
            outcome(&invoices::cancel_invoice(s, &manage, &d.id, " ").await),
            "422",
            "a reason is needed"
        );
        let (cancelled, credit) = invoices::cancel_invoice(s, &manage, &d.id, "Wrong hours")
            .await
            .unwrap();
        assert_eq!(cancelled.status, Status::Cancelled);
        assert_eq!(cancelled.credited_by.as_deref(), Some(credit.id.as_str()));
        assert_eq!(
            cancelled.number, sent.number,
            "the invoice keeps its number"
        );
        assert_eq!(credit.kind, invoicing::Kind::CreditNote);
        assert_eq!(credit.corrects.as_deref(), Some(d.id.as_str()));
        assert_eq!(
            credit.number.as_deref(),
            Some(format!("CN-{}-0001", this_year()).as_str())
        );
        assert_eq!(
            (credit.net, credit.tax, credit.total),
            (-20_800, -2_656, -23_456)
        );
        assert!(credit.notes.contains("Wrong hours"));
        assert_eq!(
            outcome(&invoices::cancel_invoice(s, &manage, &d.id, "again").await),
            "409"
        );
        assert_eq!(
            outcome(&invoices::cancel_invoice(s, &manage, &credit.id, "no").await),
            "409"
        );
        // The client sees both; the list filters by status.
        let page = invoices::list_invoices(s, &b.acme_contact, &InvoiceFilter::default(), None, 50)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 2);
        let cancelled_only = InvoiceFilter {
            status: Some("cancelled".to_owned()),
            ..InvoiceFilter::default()
        };
        let page = invoices::list_invoices(s, &b.admin, &cancelled_only, None, 50)
            .await
            .unwrap();
        assert_eq!(
            page.items.iter().map(|i| &i.id).collect::<Vec<_>>(),
            [&d.id]
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn an_invoice_not_paid_by_its_due_date_is_overdue() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let d = draft(s, &b.admin, &b.acme).await;
        send(s, &b.admin, &d.id).await.unwrap();
        support::run_in_tenant(
            &store.backend,
            &context.tenant,
            &[&format!(
                "update invoices set due_on = '2020-01-31' where invoice_id = '{}'",
                d.id
            )],
        )
        .await;
        let late = invoices::get_invoice(s, &b.admin, &d.id).await.unwrap();
        assert_eq!(late.status, Status::Overdue);
        let overdue = InvoiceFilter {
            status: Some("overdue".to_owned()),
            ..InvoiceFilter::default()
        };
        let page = invoices::list_invoices(s, &b.admin, &overdue, None, 50)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        let sent = InvoiceFilter {
            status: Some("sent".to_owned()),
            ..InvoiceFilter::default()
        };
        assert!(
            invoices::list_invoices(s, &b.admin, &sent, None, 50)
                .await
                .unwrap()
                .items
                .is_empty()
        );
        // An overdue invoice still takes payments.
        let manage = access::permit::<need::InvoicesManage>(&b.admin, Scope::Brand).unwrap();
        let (paid, _) = invoices::record_payment(
            s,
            &manage,
            &d.id,
            &NewPayment {
                amount: "234.56".to_owned(),
                paid_on: None,
                method: "bank_transfer".to_owned(),
                reference: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(paid.status, Status::Paid);
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_bookkeeper_works_with_invoices_and_never_sees_project_files() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let files_dir = tempfile::tempdir().unwrap();
        platform.use_file_store(
            tenant_core::objects::FileStore::local(files_dir.path(), Default::default()).unwrap(),
        );
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let roles_permit = access::permit::<need::RolesManage>(&b.admin, Scope::Brand).unwrap();
        let bookkeeper_role = roles::create_role(
            s,
            &roles_permit,
            &NewRole {
                name: "Bookkeeper".to_owned(),
                kind: UserKind::Staff,
                permissions: PermissionSet::parse_words([
                    "projects.view_all",
                    "invoices.view",
                    "invoices.create",
                    "invoices.manage",
                ])
                .unwrap(),
            },
        )
        .await
        .unwrap();
        let keeper = person(s, "bea@books.test", "Bea Books", &bookkeeper_role.id, None).await;
        let project = support::project(s, &b.admin, Some(&b.acme)).await;
        let d = draft(s, &keeper, &b.acme).await;
        let sent = send(s, &keeper, &d.id).await.unwrap();
        assert_eq!(sent.status, Status::Sent);
        let page = invoices::list_invoices(s, &keeper, &InvoiceFilter::default(), None, 50)
            .await
            .unwrap();
        assert_eq!(page.items.len(), 1);
        let files = tenant_core::work::files::list_files(
            s,
            &keeper,
            &project.id,
            &Default::default(),
            None,
            50,
        )
        .await;
        assert_eq!(outcome(&files), "403", "a bookkeeper has no files.download");
        // Nor does search give away a file's name.
        let mut upload = tenant_core::work::files::begin_upload(s, &b.admin, &project.id)
            .await
            .unwrap();
        upload
            .write(bytes::Bytes::from_static(b"the brief"))
            .await
            .unwrap();
        let file = upload
            .finish("walrus-brief.txt", &Default::default())
            .await
            .unwrap();
        let kinds = |found: Vec<tenant_core::talk::search::Found>| {
            found
                .into_iter()
                .map(|f| (f.kind.as_str(), f.id))
                .collect::<Vec<_>>()
        };
        let for_admin = tenant_core::talk::search::search(s, &b.admin, "walrus", 10)
            .await
            .unwrap();
        assert_eq!(kinds(for_admin), [("file", file.id.clone())]);
        let for_keeper = tenant_core::talk::search::search(s, &keeper, "walrus", 10)
            .await
            .unwrap();
        assert!(kinds(for_keeper).is_empty());
        // A project of another company cannot be put on an invoice.
        let create = access::permit::<need::InvoicesCreate>(&keeper, Scope::Brand).unwrap();
        let mismatched = invoices::create_invoice(
            s,
            &create,
            &NewInvoice {
                company: b.globex.clone(),
                project: Some(project.id.clone()),
                lines: vec![line("Work", "1", "1", "0", None)],
                ..NewInvoice::default()
            },
        )
        .await;
        assert_eq!(outcome(&mismatched), "422");
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn e_invoices_need_the_sellers_country_and_countries_are_two_letters() {
    let store = support::sqlite();
    let platform = Platform::open(&store.backend).await.unwrap();
    let context = context(&platform, "books.test").await;
    let s = context.store();
    let b = books(s).await;
    let manage = access::permit::<need::InvoicesManage>(&b.admin, Scope::Brand).unwrap();
    let change = |country: Option<&str>, on: bool| InvoicingChange {
        country: country.map(str::to_owned),
        e_invoice: Some(on),
        ..InvoicingChange::default()
    };
    let without = invoicing::set_invoicing(s, &manage, &change(None, true)).await;
    assert_eq!(outcome(&without), "422");
    let wrong = invoicing::set_invoicing(s, &manage, &change(Some("Germany"), true)).await;
    assert_eq!(outcome(&wrong), "422");
    assert!(
        !invoicing::e_invoices_on(s).await.unwrap(),
        "nothing was changed"
    );
    let saved = invoicing::set_invoicing(s, &manage, &change(Some("de"), true))
        .await
        .unwrap();
    assert_eq!(saved.settings.country, "DE");
    assert!(invoicing::e_invoices_on(s).await.unwrap());
    // The company's country goes onto its drafts, and is fixed at sending.
    let clients = access::permit::<need::ClientsManage>(&b.admin, Scope::Brand).unwrap();
    let bad = companies::update_company(
        s,
        &clients,
        &b.acme,
        &companies::CompanyChange {
            country: Some("D1"),
            ..Default::default()
        },
    )
    .await;
    assert_eq!(outcome(&bad), "422");
    companies::update_company(
        s,
        &clients,
        &b.acme,
        &companies::CompanyChange {
            country: Some("at"),
            currency: Some("chf"),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let d = draft(s, &b.admin, &b.acme).await;
    assert_eq!(d.buyer.country, "AT");
    assert_eq!(d.currency.code(), "CHF", "the company's currency");
    let sent = send(s, &b.admin, &d.id).await.unwrap();
    assert_eq!(
        (sent.seller.country.as_str(), sent.buyer.country.as_str()),
        ("DE", "AT")
    );
    platform.close().await;
    store.cleanup().await;
}

#[tokio::test]
async fn a_change_racing_a_send_never_changes_the_sent_invoice() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        for _ in 0..15 {
            let d = draft(s, &b.admin, &b.acme).await;
            let changing = {
                let (s, admin, id) = (s.clone(), b.admin.clone(), d.id.clone());
                tokio::spawn(async move {
                    let create =
                        access::permit::<need::InvoicesCreate>(&admin, Scope::Brand).unwrap();
                    invoices::update_invoice(
                        &s,
                        &create,
                        &id,
                        &InvoiceChange {
                            lines: Some(vec![line("Other work", "7", "3.10", "19", None)]),
                            ..InvoiceChange::default()
                        },
                    )
                    .await
                })
            };
            let sending = {
                let (s, admin, id) = (s.clone(), b.admin.clone(), d.id.clone());
                tokio::spawn(async move { send(&s, &admin, &id).await })
            };
            let changed = changing.await.unwrap();
            sending.await.unwrap().unwrap();
            assert!(matches!(outcome(&changed), "ok" | "409"), "{changed:?}");
            // Whatever came first, the sent invoice's lines add up to its stored total.
            let sent = invoices::get_invoice(s, &b.admin, &d.id).await.unwrap();
            let lines: Vec<_> = sent.lines.iter().map(|l| l.line.clone()).collect();
            let totals = tenant_core::finance::money::totals(&lines, sent.currency).unwrap();
            assert_eq!(totals.total, sent.total, "on {}", store.kind());
            let expected = if changed.is_ok() { 2_582 } else { 23_456 };
            assert_eq!(sent.total, expected, "on {}", store.kind());
        }
        platform.close().await;
        store.cleanup().await;
    }
}

/// The invoice mails in the outbox: (recipient, step, reminder).
async fn invoice_mails(s: &TenantStore) -> Vec<(String, String, Option<u64>)> {
    let mut tx_mails: Vec<(String, String, Option<u64>)> = Vec::new();
    let claimed = tenant_core::brand::outbox::claim_due(s, "test", 100, time::Duration::minutes(1))
        .await
        .unwrap();
    for mail in claimed {
        if mail.kind == tenant_core::brand::outbox::MailKind::Invoice {
            tx_mails.push((
                mail.recipient.clone(),
                mail.params["step"].as_str().unwrap().to_owned(),
                mail.params["reminder"].as_u64(),
            ));
        }
        tenant_core::brand::outbox::mark_sent(s, &mail.id)
            .await
            .unwrap();
    }
    tx_mails.sort();
    tx_mails
}

#[tokio::test]
async fn sending_mails_the_companys_contacts_and_reminders_go_once_until_paid() {
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        // A second contact of Acme whose switch takes invoices away gets no mail.
        let _muted = person(s, "moe@acme.test", "Moe", "client", Some(&b.acme)).await;
        support::run_in_tenant(
            &store.backend,
            &context.tenant,
            &["update users set switches = 'files.download' where email = 'moe@acme.test'"],
        )
        .await;
        invoice_mails(s).await;
        let manage = access::permit::<need::InvoicesManage>(&b.admin, Scope::Brand).unwrap();
        invoicing::set_invoicing(
            s,
            &manage,
            &InvoicingChange {
                reminder_days: Some(vec![-3, 7, 21]),
                ..InvoicingChange::default()
            },
        )
        .await
        .unwrap();
        let d = draft(s, &b.admin, &b.acme).await;
        assert!(invoice_mails(s).await.is_empty(), "a draft is not mailed");
        let sent = send(s, &b.admin, &d.id).await.unwrap();
        assert_eq!(
            invoice_mails(s).await,
            [("cleo@acme.test".to_owned(), "sent".to_owned(), None)]
        );
        let today = time::OffsetDateTime::now_utc().date();
        // Not yet three days before the due date: no reminder.
        assert_eq!(
            tenant_core::finance::mailing::remind_invoices(
                s,
                sent.due_on - time::Duration::days(4)
            )
            .await
            .unwrap(),
            0
        );
        // Eight days after the due date: the second step (7), and the first is passed over;
        // two sweeps at once (two replicas) mail it once.
        let day = sent.due_on + time::Duration::days(8);
        let (one, two) = tokio::join!(
            tenant_core::finance::mailing::remind_invoices(s, day),
            tenant_core::finance::mailing::remind_invoices(s, day)
        );
        assert_eq!(one.unwrap() + two.unwrap(), 1);
        assert_eq!(
            invoice_mails(s).await,
            [("cleo@acme.test".to_owned(), "reminder".to_owned(), Some(2))]
        );
        assert_eq!(
            tenant_core::finance::mailing::remind_invoices(s, day)
                .await
                .unwrap(),
            0
        );
        // Paid in full: the third step never goes.
        invoices::record_payment(
            s,
            &manage,
            &d.id,
            &NewPayment {
                amount: "234.56".to_owned(),
                paid_on: Some(today.to_string()),
                method: "bank_transfer".to_owned(),
                reference: None,
            },
        )
        .await
        .unwrap();
        assert_eq!(
            tenant_core::finance::mailing::remind_invoices(
                s,
                sent.due_on + time::Duration::days(30)
            )
            .await
            .unwrap(),
            0
        );
        assert!(invoice_mails(s).await.is_empty());
        // The mail sender writes what went out into the history.
        tenant_core::finance::mailing::note_mail_outcome(s, &d.id, "cleo@acme.test", Some(2), None)
            .await
            .unwrap();
        let view = access::permit::<need::InvoicesView>(&b.admin, Scope::Brand).unwrap();
        let history = invoices::history(s, &view, &d.id).await.unwrap();
        assert!(
            history
                .iter()
                .any(|h| h.action == "mailed" && h.detail == "Reminder 2 mailed to cleo@acme.test"),
            "{history:?}"
        );
        // A company without a contact who may see invoices: the history says so.
        let g = draft(s, &b.admin, &b.globex).await;
        support::run_in_tenant(
            &store.backend,
            &context.tenant,
            &["update users set status = 'deactivated' where email = 'gil@globex.test'"],
        )
        .await;
        send(s, &b.admin, &g.id).await.unwrap();
        assert!(invoice_mails(s).await.is_empty());
        let history = invoices::history(s, &view, &g.id).await.unwrap();
        assert!(
            history.iter().any(|h| h.action == "not_mailed"),
            "{history:?}"
        );
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn the_finance_report_adds_up_per_client_month_and_rate_and_is_for_staff_only() {
    use tenant_core::finance::reports;
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let manage = access::permit::<need::InvoicesManage>(&b.admin, Scope::Brand).unwrap();
        let today = time::OffsetDateTime::now_utc().date();
        // Acme: 234.56, of which 34.56 paid; Globex: 234.56 overdue; a third, cancelled.
        let a = draft(s, &b.admin, &b.acme).await;
        send(s, &b.admin, &a.id).await.unwrap();
        invoices::record_payment(
            s,
            &manage,
            &a.id,
            &NewPayment {
                amount: "34.56".to_owned(),
                paid_on: Some(today.to_string()),
                method: "cash".to_owned(),
                reference: None,
            },
        )
        .await
        .unwrap();
        let g = draft(s, &b.admin, &b.globex).await;
        send(s, &b.admin, &g.id).await.unwrap();
        support::run_in_tenant(
            &store.backend,
            &context.tenant,
            &[&format!(
                "update invoices set due_on = '{}' where invoice_id = '{}'",
                today - time::Duration::days(1),
                g.id
            )],
        )
        .await;
        let c = draft(s, &b.admin, &b.acme).await;
        send(s, &b.admin, &c.id).await.unwrap();
        invoices::cancel_invoice(s, &manage, &c.id, "Ordered twice")
            .await
            .unwrap();

        let (from, to) = reports::period(None, None, today).unwrap();
        let report = reports::finance_report(s, &b.admin, from, to, today)
            .await
            .unwrap();
        let owed: Vec<(&str, i64, i64, i64)> = report
            .outstanding
            .iter()
            .map(|o| {
                (
                    o.company_name.as_str(),
                    o.invoices,
                    o.outstanding,
                    o.overdue,
                )
            })
            .collect();
        assert_eq!(
            owed,
            [("Acme GmbH", 1, 20_000, 0), ("Globex", 1, 23_456, 23_456)]
        );
        assert_eq!(report.paid.len(), 1);
        assert_eq!(report.paid[0].month, today.to_string()[..7]);
        assert_eq!((report.paid[0].payments, report.paid[0].amount), (1, 3_456));
        // Three invoices and one credit note at 7 % and 19 %: two invoices' worth left.
        let taxes: Vec<(String, i64, i64)> = report
            .taxes
            .iter()
            .map(|t| (t.rate.normalize().to_string(), t.base, t.tax))
            .collect();
        assert_eq!(
            taxes,
            [
                ("7".to_owned(), 2 * 10_800, 2 * 756),
                ("19".to_owned(), 2 * 10_000, 2 * 1_900)
            ]
        );
        let csv = reports::report_csv(&report, "outstanding").unwrap();
        assert_eq!(
            csv,
            "company,currency,invoices,outstanding,overdue\r\nAcme GmbH,EUR,1,200.00,0.00\r\nGlobex,EUR,1,234.56,234.56\r\n"
        );
        assert!(reports::report_csv(&report, "secrets").is_err());
        // A period before anything was issued or paid: nothing but what is owed today.
        let last_year = today.year() - 1;
        let (from, to) = reports::period(
            Some(&format!("{last_year}-01-01")),
            Some(&format!("{last_year}-12-31")),
            today,
        )
        .unwrap();
        let old = reports::finance_report(s, &b.admin, from, to, today)
            .await
            .unwrap();
        assert!(old.paid.is_empty() && old.taxes.is_empty());
        assert_eq!(old.outstanding.len(), 2);
        assert!(reports::period(Some("2026-02-01"), Some("2026-01-01"), today).is_err());
        assert!(reports::period(Some("yesterday"), None, today).is_err());
        // Clients and staff without invoices.view get nothing.
        for who in [&b.acme_contact, &b.staff] {
            assert_eq!(
                outcome(&reports::finance_report(s, who, from, to, today).await),
                "403"
            );
        }
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn a_recurring_invoice_is_made_once_per_period_even_with_two_replicas_sweeping() {
    use tenant_core::finance::recurring::{self, NewRecurring, RecurringChange};
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        // A second replica: its own platform and pools on the same database.
        let replica = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let other = replica
            .context_for(&context.tenant.domain, &tenant_core::Standing::Development)
            .await
            .unwrap()
            .unwrap()
            .0;
        let manage = access::permit::<need::InvoicesManage>(&b.admin, Scope::Brand).unwrap();
        let today = time::OffsetDateTime::now_utc().date();
        let new = NewRecurring {
            company: b.acme.clone(),
            lines: vec![line("Retainer", "1", "500", "19", None)],
            frequency: "monthly".to_owned(),
            next_on: Some(today.to_string()),
            send: true,
            ..NewRecurring::default()
        };
        // What a draft would refuse is refused now, and nothing is kept.
        let bad = NewRecurring {
            lines: vec![line("Retainer", "1", "five hundred", "19", None)],
            ..new.clone()
        };
        assert_eq!(
            outcome(&recurring::create_recurring(s, &manage, &bad).await),
            "422"
        );
        let past = NewRecurring {
            next_on: Some((today - time::Duration::days(1)).to_string()),
            ..new.clone()
        };
        assert_eq!(
            outcome(&recurring::create_recurring(s, &manage, &past).await),
            "422"
        );
        let yearly_typo = NewRecurring {
            frequency: "weekly".to_owned(),
            ..new.clone()
        };
        assert_eq!(
            outcome(&recurring::create_recurring(s, &manage, &yearly_typo).await),
            "422"
        );
        let schedule = recurring::create_recurring(s, &manage, &new).await.unwrap();
        let all = InvoiceFilter::default();
        assert!(
            invoices::list_invoices(s, &b.admin, &all, None, 50)
                .await
                .unwrap()
                .items
                .is_empty()
        );

        // Both replicas sweep at once: one invoice, sent, numbered.
        let (one, two) = tokio::join!(
            recurring::make_due(s, today),
            recurring::make_due(other.store(), today)
        );
        assert_eq!(one.unwrap() + two.unwrap(), 1);
        let made = invoices::list_invoices(s, &b.admin, &all, None, 50)
            .await
            .unwrap()
            .items;
        assert_eq!(made.len(), 1);
        assert_eq!(made[0].status, Status::Sent);
        assert_eq!(made[0].total, 59_500);
        // Swept again the same day: nothing more.
        assert_eq!(recurring::make_due(s, today).await.unwrap(), 0);
        let after = recurring::get_recurring(s, &manage, &schedule.id)
            .await
            .unwrap();
        assert_eq!(after.next_on, recurring::advance(today, 1, today.day()));
        assert_eq!(after.last_invoice_id.as_deref(), Some(made[0].id.as_str()));

        // Three months later (the server was off): two more, once each, across replicas.
        let later = recurring::advance(today, 2, today.day());
        let (one, two) = tokio::join!(
            recurring::make_due(s, later),
            recurring::make_due(other.store(), later)
        );
        assert_eq!(one.unwrap() + two.unwrap(), 2);
        assert_eq!(
            invoices::list_invoices(s, &b.admin, &all, None, 50)
                .await
                .unwrap()
                .items
                .len(),
            3
        );

        // Paused: nothing; resumed with an end before the next date: refused.
        let paused = recurring::update_recurring(
            s,
            &manage,
            &schedule.id,
            &RecurringChange {
                status: Some("paused".to_owned()),
                ..RecurringChange::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(paused.status, "paused");
        assert_eq!(
            recurring::make_due(s, recurring::advance(today, 6, today.day()))
                .await
                .unwrap(),
            0
        );
        assert_eq!(
            outcome(
                &recurring::update_recurring(
                    s,
                    &manage,
                    &schedule.id,
                    &RecurringChange {
                        ends_on: Some(today.to_string()),
                        ..RecurringChange::default()
                    },
                )
                .await
            ),
            "422"
        );
        recurring::end_recurring(s, &manage, &schedule.id)
            .await
            .unwrap();
        assert_eq!(
            outcome(
                &recurring::update_recurring(
                    s,
                    &manage,
                    &schedule.id,
                    &RecurringChange {
                        status: Some("active".to_owned()),
                        ..RecurringChange::default()
                    },
                )
                .await
            ),
            "409"
        );
        // Clients and staff without invoices.manage cannot hold the permit at all.
        assert!(access::permit::<need::InvoicesManage>(&b.acme_contact, Scope::Brand).is_err());
        replica.close().await;
        platform.close().await;
        store.cleanup().await;
    }
}

#[tokio::test]
async fn online_payments_count_only_on_a_matching_event_and_each_event_once() {
    use tenant_core::Error;
    use tenant_core::brand::settings::{self, GatewayChange};
    use tenant_core::finance::online::{
        self, EventAmount, EventKind, Outcome, Provider, ProviderEvent,
    };
    use tenant_core::platform::secrets::SecretKey;
    let key = SecretKey::from_text(&SecretKey::generate_text().unwrap()).unwrap();
    for store in both().await {
        let platform = Platform::open(&store.backend).await.unwrap();
        let context = context(&platform, "books.test").await;
        let s = context.store();
        let b = books(s).await;
        let unsent = draft(s, &b.admin, &b.acme).await;
        let invoice = draft(s, &b.admin, &b.acme).await;
        let invoice = send(s, &b.admin, &invoice.id).await.unwrap();
        let owed = invoice.balance();
        let plan = |viewer: Principal, id: String| {
            let (s, key) = (s.clone(), &key);
            async move { online::plan_checkout(&s, &viewer, key, &id, None).await }
        };
        // No provider set up: nothing to pay through.
        assert!(matches!(
            plan(b.acme_contact.clone(), invoice.id.clone()).await,
            Err(Error::Conflict(_))
        ));
        let permit = access::permit::<need::PaymentsSettings>(&b.admin, Scope::Brand).unwrap();
        settings::set_payments(
            s,
            &permit,
            &key,
            vec![(
                "stripe".to_owned(),
                GatewayChange {
                    enabled: Some(true),
                    public_key: Some(Some("pk_test_1".to_owned())),
                    secret_key: Some(Some("sk_test_abcdefgh4242".to_owned())),
                    webhook_secret: Some(Some("whsec_first_secret".to_owned())),
                },
            )],
        )
        .await
        .unwrap();
        assert_eq!(online::offered(s).await.unwrap(), vec![Provider::Stripe]);
        // Staff record payments; another company's contact and a draft: not there.
        assert!(matches!(
            plan(b.staff.clone(), invoice.id.clone()).await,
            Err(Error::Forbidden(_) | Error::NotFound(_))
        ));
        assert!(matches!(
            plan(b.globex_contact.clone(), invoice.id.clone()).await,
            Err(Error::NotFound(_))
        ));
        assert!(matches!(
            plan(b.acme_contact.clone(), unsent.id.clone()).await,
            Err(Error::NotFound(_))
        ));

        let first = plan(b.acme_contact.clone(), invoice.id.clone())
            .await
            .unwrap();
        assert_eq!(
            (first.amount, first.keys.secret_key.as_str()),
            (owed, "sk_test_abcdefgh4242")
        );
        assert!(!format!("{first:?}").contains("sk_test"), "no key in Debug");
        let payment = online::record_checkout(s, &b.acme_contact, &first, "cs_first")
            .await
            .unwrap();
        assert_eq!(payment.status, "processing");
        let event = |id: &str, kind: EventKind, reference: &str, amount: i64, currency: &str| {
            ProviderEvent {
                id: id.to_owned(),
                type_name: "checkout.session.completed".to_owned(),
                kind: Some(kind),
                reference: Some(reference.to_owned()),
                amount: Some((EventAmount::Minor(amount), currency.to_owned())),
            }
        };
        let apply = |e: ProviderEvent| {
            let s = s.clone();
            async move { online::apply_event(&s, Provider::Stripe, &e).await.unwrap() }
        };
        let paid_now = || {
            let (s, viewer, id) = (s.clone(), b.admin.clone(), invoice.id.clone());
            async move { invoices::get_invoice(&s, &viewer, &id).await.unwrap() }
        };
        // A different amount, another currency, a processing payment: nothing paid.
        assert_eq!(
            apply(event(
                "evt_1",
                EventKind::Succeeded,
                "cs_first",
                owed - 1,
                "eur"
            ))
            .await,
            Outcome::Mismatch
        );
        assert_eq!(
            apply(event(
                "evt_2",
                EventKind::Succeeded,
                "cs_first",
                owed,
                "usd"
            ))
            .await,
            Outcome::Mismatch
        );
        assert_eq!(
            apply(event(
                "evt_3",
                EventKind::Processing,
                "cs_first",
                owed,
                "eur"
            ))
            .await,
            Outcome::Processing
        );
        assert_eq!(
            apply(event(
                "evt_4",
                EventKind::Succeeded,
                "cs_unknown",
                owed,
                "eur"
            ))
            .await,
            Outcome::Ignored
        );
        assert_eq!(paid_now().await.paid, 0);

        // A second checkout replaces the first (marked failed); its success pays.
        let second = plan(b.acme_contact.clone(), invoice.id.clone())
            .await
            .unwrap();
        assert_eq!(second.replaces, vec!["cs_first".to_owned()]);
        online::record_checkout(s, &b.acme_contact, &second, "cs_second")
            .await
            .unwrap();
        assert_eq!(
            apply(event(
                "evt_5",
                EventKind::Succeeded,
                "cs_second",
                owed,
                "eur"
            ))
            .await,
            Outcome::Paid
        );
        assert_eq!(
            apply(event(
                "evt_5",
                EventKind::Succeeded,
                "cs_second",
                owed,
                "eur"
            ))
            .await,
            Outcome::Replayed
        );
        let after = paid_now().await;
        assert_eq!((after.paid, after.status), (owed, invoices::Status::Paid));
        // The replaced checkout went through all the same: received, flagged, never overpaid.
        assert_eq!(
            apply(event(
                "evt_6",
                EventKind::Succeeded,
                "cs_first",
                owed,
                "eur"
            ))
            .await,
            Outcome::Refund
        );
        assert_eq!(paid_now().await.paid, owed);
        let manage = access::permit::<need::InvoicesView>(&b.admin, Scope::Brand).unwrap();
        let history = invoices::history(s, &manage, &invoice.id).await.unwrap();
        let actions: Vec<&str> = history.iter().map(|h| h.action.as_str()).collect();
        for action in [
            "checkout",
            "payment_mismatch",
            "payment_processing",
            "payment",
            "payment_refund_due",
        ] {
            assert!(actions.contains(&action), "{action} in {actions:?}");
        }
        // Paid: nothing left to start.
        assert!(matches!(
            plan(b.acme_contact.clone(), invoice.id.clone()).await,
            Err(Error::Conflict(_))
        ));
    }
}
