-- The warehouse's schemas: audit (what was scanned and loaded), staging (accepted landing
-- feeds, typed), core (the weekly panel), mmm (model outputs), marts (published tables).
CREATE SCHEMA IF NOT EXISTS audit;
CREATE SCHEMA IF NOT EXISTS staging;
CREATE SCHEMA IF NOT EXISTS core;
CREATE SCHEMA IF NOT EXISTS mmm;
CREATE SCHEMA IF NOT EXISTS marts;
