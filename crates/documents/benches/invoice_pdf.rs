//! How long an invoice's PDF takes to make: a usual one (8 lines, two tax rates) and a
//! long one (200 lines, 5 pages or more), fonts already loaded (as after start-up).
//!
//! Run: `cargo bench -p documents --bench invoice_pdf`.

#![allow(clippy::unwrap_used, missing_docs)] // a benchmark that cannot set up should panic

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use documents::{Invoice, Party, Row, invoice_pdf};

fn invoice(rows: usize) -> Invoice {
    Invoice {
        title: "Invoice".to_owned(),
        number: "2026-0417".to_owned(),
        brand: "Studio Nord".to_owned(),
        colour: "#0b3d2e".to_owned(),
        seller: Party {
            name: "Studio Nord GmbH".to_owned(),
            lines: vec!["Am Hafen 5".to_owned(), "20457 Hamburg".to_owned()],
            tax_id: "DE123456789".to_owned(),
        },
        buyer: Party {
            name: "Acme Ünïcödé GmbH".to_owned(),
            lines: vec!["Hauptstraße 1".to_owned(), "10115 Berlin".to_owned()],
            tax_id: String::new(),
        },
        facts: vec![
            ("Number".to_owned(), "2026-0417".to_owned()),
            ("Issue date".to_owned(), "2 December 2026".to_owned()),
            ("Due date".to_owned(), "16 December 2026".to_owned()),
        ],
        rows: (0..rows)
            .map(|i| Row {
                description: format!("Design and build, sprint {i}: pages, review rounds and hand-over"),
                quantity: "12.5".to_owned(),
                unit_price: "95.00".to_owned(),
                tax_rate: if i % 3 == 0 { "7 %" } else { "19 %" }.to_owned(),
                discount: String::new(),
                net: "1187.50 EUR".to_owned(),
            })
            .collect(),
        totals: vec![
            ("Net".to_owned(), "9500.00 EUR".to_owned(), false),
            ("Tax 7 % on 3562.50 EUR".to_owned(), "249.38 EUR".to_owned(), false),
            ("Tax 19 % on 5937.50 EUR".to_owned(), "1128.13 EUR".to_owned(), false),
            ("Total".to_owned(), "10877.51 EUR".to_owned(), true),
        ],
        paragraphs: vec![
            "Thank you for your order.".to_owned(),
            "Please pay 10877.51 EUR by 16 December 2026 to: IBAN DE02 1203 0000 0000 2020 51, BIC BYLADEM1001".to_owned(),
        ],
    }
}

fn pdf(c: &mut Criterion) {
    documents::warm_up().unwrap();
    let mut group = c.benchmark_group("invoice_pdf");
    for rows in [8, 200] {
        let invoice = invoice(rows);
        let bytes = invoice_pdf(&invoice).unwrap();
        println!("{rows} lines: {} bytes", bytes.len());
        group.bench_with_input(BenchmarkId::from_parameter(rows), &invoice, |b, invoice| {
            b.iter(|| black_box(invoice_pdf(black_box(invoice)).unwrap()));
        });
    }
    group.finish();
}

criterion_group!(benches, pdf);
criterion_main!(benches);
