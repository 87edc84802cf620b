-- A client company's VAT or tax id, printed on its invoices as the buyer's and given in
-- e-invoices (EN 16931 BT-48).
alter table companies add column tax_id text;
