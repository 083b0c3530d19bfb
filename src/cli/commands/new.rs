//! `new ID --template web|tcp|static-files [--dir DIR]`: a challenge folder that passes
//! `catalog check` and `smoke` as generated, and the next three steps.

use std::path::Path;

use color_eyre::eyre::Result;

use crate::catalog::scaffold::{self, Template};
use crate::cli::context::Context;
use crate::cli::exit::Reported;

pub fn run(ctx: &Context, id: &str, template: Template, dir: Option<&Path>) -> Result<()> {
    let default_catalog = ctx.catalog_dir();
    let catalog = dir.map_or_else(|| default_catalog.clone(), Path::to_path_buf);
    let created = scaffold::create(&catalog, id, template).map_err(|e| Reported(e.to_string()))?;
    print!(
        "{}",
        next_steps(&created, id, template, catalog != default_catalog)
    );
    Ok(())
}

fn next_steps(
    created: &scaffold::Created,
    id: &str,
    template: Template,
    other_catalog: bool,
) -> String {
    let dir = created.dir.display();
    let catalog = created.dir.parent().unwrap_or(Path::new(".")).display();
    let mut out = format!("created {dir} ({} template):\n", template.as_str());
    for file in &created.files {
        out.push_str(&format!("  {file}\n"));
    }
    if let Some(schema) = &created.schema {
        out.push_str(&format!(
            "  {} (the JSON Schema editors check challenge.json against)\n",
            schema.display()
        ));
    }
    let global = if other_catalog {
        format!(" --catalog {catalog}")
    } else {
        String::new()
    };
    let service = match template {
        Template::Web => "www/",
        Template::Tcp => "service.sh",
        Template::StaticFiles => "www/files/ and serve.sh",
    };
    out.push_str(&format!(
        "\nnext:\n  \
         1. make it yours: {dir}/challenge.json (name, description, hints), the service in {service}, and solve.sh to match\n  \
         2. ctfdeck catalog check {dir}\n  \
         3. ctfdeck{global} smoke {id}   (builds the image, runs an instance, solves it with solve.sh, tears down)\n"
    ));
    out
}
