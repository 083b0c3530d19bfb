pub mod audit;
pub mod build;
pub mod catalog;
pub mod doctor;
pub mod instances;
pub mod logs;
pub mod purge;
pub mod reap;
