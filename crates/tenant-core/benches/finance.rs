//! The finance report at 10,000 invoices, on SQLite and PostgreSQL (`TEST_POSTGRES_URL`,
//! default the local server; skipped when unreachable): 100 client companies, 10,000 sent
//! invoices of three lines each at two tax rates (due over the year, so some are overdue),
//! a third of them paid in part, a report of the whole year (outstanding per client, paid
//! per month, tax per rate) and its CSV.
//!
//! Run: `cargo bench -p tenant-core --bench finance`.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark that cannot set up should panic

#[path = "../tests/support/mod.rs"]
mod support;

use std::hint::black_box;
use std::time::Duration;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use tenant_core::access::permissions::need;
use tenant_core::access::{self, Principal, Scope};
use tenant_core::accounts::companies;
use tenant_core::finance::invoices::{self, NewInvoice, NewLine, NewPayment};
use tenant_core::finance::invoicing::{self, InvoicingChange};
use tenant_core::finance::reports;
use tenant_core::{Platform, TenantContext};
use tokio::runtime::Runtime;

const INVOICES: usize = 10_000;
const COMPANIES: usize = 100;

struct Seeded {
    kind: &'static str,
    _platform: Platform,
    context: TenantContext,
    admin: Principal,
}

fn line(description: &str, quantity: &str, price: &str, rate: &str) -> NewLine {
    NewLine {
        description: description.to_owned(),
        quantity: quantity.to_owned(),
        unit_price: price.to_owned(),
        tax_rate: rate.to_owned(),
        discount: None,
    }
}

async fn seed(store: &support::TestStore) -> Seeded {
    let platform = Platform::open(&store.backend).await.unwrap();
    let context = support::context(&platform, "bench.test").await;
    let s = context.store();
    let admin = support::signed_in_admin(s, "admin@bench.test").await;
    let clients = access::permit::<need::ClientsManage>(&admin, Scope::Brand).unwrap();
    let manage = access::permit::<need::InvoicesManage>(&admin, Scope::Brand).unwrap();
    let create = access::permit::<need::InvoicesCreate>(&admin, Scope::Brand).unwrap();
    invoicing::set_invoicing(
        s,
        &manage,
        &InvoicingChange {
            legal_name: Some("Bench Studio".to_owned()),
            address: Some("Am Hafen 5\n20457 Hamburg".to_owned()),
            ..InvoicingChange::default()
        },
    )
    .await
    .unwrap();
    let mut companies_made = Vec::new();
    for i in 0..COMPANIES {
        let company = companies::create_company(s, &clients, &format!("Client {i:03}"), "")
            .await
            .unwrap();
        companies_made.push(company.id);
    }
    for i in 0..INVOICES {
        let draft = invoices::create_invoice(
            s,
            &create,
            &NewInvoice {
                company: companies_made[i % COMPANIES].clone(),
                lines: vec![
                    line("Design", "3", "95.50", "19"),
                    line("Hosting", "1", "12.99", "19"),
                    line("Print", "2", "40", "7"),
                ],
                ..NewInvoice::default()
            },
        )
        .await
        .unwrap();
        invoices::send_invoice(s, &manage, &draft.id).await.unwrap();
        if i % 3 == 0 {
            invoices::record_payment(
                s,
                &manage,
                &draft.id,
                &NewPayment {
                    amount: "100".to_owned(),
                    paid_on: None,
                    method: "bank_transfer".to_owned(),
                    reference: None,
                },
            )
            .await
            .unwrap();
        }
    }
    Seeded {
        kind: store.kind(),
        _platform: platform,
        context,
        admin,
    }
}

fn benchmarks(c: &mut Criterion) {
    let rt: Runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let stores = rt.block_on(support::both());
    let seeded: Vec<Seeded> = stores.iter().map(|s| rt.block_on(seed(s))).collect();
    let today = time::OffsetDateTime::now_utc().date();
    let (from, to) = reports::period(None, None, today).unwrap();
    let mut group = c.benchmark_group("finance_report_10000_invoices");
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    for seeded in &seeded {
        group.bench_function(BenchmarkId::new("whole_year", seeded.kind), |b| {
            b.iter(|| {
                let report = rt
                    .block_on(reports::finance_report(
                        seeded.context.store(),
                        &seeded.admin,
                        from,
                        to,
                        today,
                    ))
                    .unwrap();
                assert_eq!(report.outstanding.len(), COMPANIES);
                black_box(report)
            });
        });
        let report = rt
            .block_on(reports::finance_report(
                seeded.context.store(),
                &seeded.admin,
                from,
                to,
                today,
            ))
            .unwrap();
        group.bench_function(BenchmarkId::new("csv_outstanding", seeded.kind), |b| {
            b.iter(|| black_box(reports::report_csv(&report, "outstanding").unwrap()));
        });
    }
    group.finish();
    for store in stores {
        rt.block_on(store.cleanup());
    }
}

criterion_group!(benches, benchmarks);
criterion_main!(benches);
