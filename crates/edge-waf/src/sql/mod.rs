//! Reading SQL: a tokenizer, keyword classes and a forgiving expression
//! reader that the SQL injection families share. Nothing here adds a rule.

pub(crate) mod expr;
pub(crate) mod keywords;
pub(crate) mod lexer;
pub(crate) mod token;
