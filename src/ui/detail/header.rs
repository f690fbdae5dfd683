//! The detail's header: the job's name and status, wrapped at any width, and its actions
//! (stop, clone, run elsewhere, copy the request, the AWS console).

use egui::RichText;

use super::DetailAction;
use crate::job::JobDetail;
use crate::job::console::ConsoleLinks;
use crate::job::{JobCredentials, JobRef};
use crate::ui::data::Data;
use crate::ui::{Clip, theme};

/// The name, status and secondary status, wrapping onto more lines when narrow.
pub(super) fn title(ui: &mut egui::Ui, detail: &JobDetail) {
    let summary = &detail.summary;
    ui.horizontal_wrapped(|ui| {
        ui.add(egui::Label::new(RichText::new(&summary.name).heading().strong()).wrap());
        ui.label(theme::status_text(summary.status).size(16.0));
        if let Some(s) = summary.secondary_detail() {
            ui.label(RichText::new(format!("({s})")).weak());
        }
    });
}

/// The job's buttons, wrapping onto more lines when narrow.
pub(super) fn buttons(
    ui: &mut egui::Ui,
    data: &Data,
    detail: &JobDetail,
    job: &JobRef,
) -> Option<DetailAction> {
    let mut action = None;
    ui.horizontal_wrapped(|ui| {
        let running = !detail.summary.status.is_terminal();
        if ui
            .add_enabled(running, egui::Button::new("⏹ Stop"))
            .on_hover_text("Stop the job (Del or Ctrl+.)")
            .on_disabled_hover_text("The job has ended")
            .clicked()
        {
            action = Some(DetailAction::ConfirmStop(job.clone()));
        }
        if ui
            .button("⎘ Clone")
            .on_hover_text("Open the builder on a copy of this job's request, with a new name")
            .clicked()
        {
            action = Some(DetailAction::Clone(
                job.clone(),
                Box::new(detail.request.clone()),
            ));
        }
        if job.source.is_aws() {
            if let Some(credentials) = run_locally_menu(
                ui,
                "On this machine, linked to this job; code, data and checkpoints read from S3 \
                 with this job's connection. The job acts:",
            ) {
                action = Some(DetailAction::RunLocally(job.clone(), credentials));
            }
            if detail.summary.warm_pool.as_deref() == Some("Available")
                && ui
                    .button("♨ Run again on the warm pool")
                    .on_hover_text(
                        "Submit this request again under a new name: the same instances, \
                         volume and network, so the warm pool this job kept takes it without a \
                         new spin-up",
                    )
                    .clicked()
            {
                action = Some(DetailAction::RunAgain(
                    job.clone(),
                    Box::new(detail.request.clone()),
                ));
            }
            let remote_debug = detail
                .request
                .remote_debug_config
                .as_ref()
                .and_then(|r| r.enable_remote_debug)
                == Some(true);
            if remote_debug
                && ui
                    .add_enabled(running, egui::Button::new("🖥 SSM session"))
                    .on_hover_text(
                        "Copy the command that opens a shell on algo-1 of the running job \
                         (needs the AWS CLI and its Session Manager plugin, and \
                         ssm:StartSession on the job)",
                    )
                    .on_disabled_hover_text("Only while the job runs")
                    .clicked()
            {
                let region = detail.summary.arn.split(':').nth(3).unwrap_or("us-east-1");
                let command = format!(
                    "aws ssm start-session --target sagemaker-training-job:{}_algo-1 --region {region}",
                    detail.summary.name
                );
                action = Some(DetailAction::Copy(Clip::plain("SSM command", command)));
            }
        } else {
            let watched = data.watching.as_ref() == Some(job);
            if watched {
                if ui
                    .button(RichText::new("⏹ Stop watching").color(theme::status_color(
                        crate::job::Status::InProgress,
                    )))
                    .on_hover_text("This run is watched: a save of its code folder runs it again")
                    .clicked()
                {
                    action = Some(DetailAction::Unwatch);
                }
            } else if ui
                .button("👁 Watch")
                .on_hover_text(
                    "Run this request again on every save of its file:// code folder (the run \
                     before stopped, each run kept and linked); sagedesk run --watch does the \
                     same",
                )
                .clicked()
            {
                action = Some(DetailAction::Watch(job.clone()));
            }
            if ui
                .button("🐞 Debug")
                .on_hover_text(format!(
                    "Run this request again with its Python entry point waiting under debugpy \
                     on 127.0.0.1:{} for your editor to attach; the new run's log gives the \
                     launch.json configuration (the interpreter needs debugpy)",
                    crate::job::DEBUG_PORT
                ))
                .clicked()
            {
                action = Some(DetailAction::Debug(job.clone()));
            }
            ui.menu_button("🖥 Terminal", |ui| {
                if ui
                    .button("Shell in algo-1")
                    .on_hover_text(
                        "A shell in algo-1's sandbox with the job's environment (/opt/ml as \
                         the job saw it), to look around; sagedesk shell NAME does the same",
                    )
                    .clicked()
                {
                    action = Some(DetailAction::OpenTerminal(job.name.clone(), false));
                    ui.close();
                }
                if ui
                    .button("Run again under pdb")
                    .on_hover_text(
                        "The entry point again in algo-1's sandbox under pdb: where it \
                         raises, pdb opens at that frame; sagedesk shell NAME --pdb does the \
                         same",
                    )
                    .clicked()
                {
                    action = Some(DetailAction::OpenTerminal(job.name.clone(), true));
                    ui.close();
                }
            });
            let aws = data.sources.iter().any(|s| s.connection.is_aws());
            if ui
                .add_enabled(aws, egui::Button::new("☁ Run on AWS…"))
                .on_hover_text(
                    "Open the builder on a copy of this request for an AWS connection, \
                     validated for the service; file:// locations are listed for upload",
                )
                .on_disabled_hover_text("Add an AWS connection first")
                .clicked()
            {
                action = Some(DetailAction::RunOnAws(
                    job.clone(),
                    Box::new(detail.request.clone()),
                ));
            }
        }
        if ui
            .button("📋 Copy request JSON")
            .on_hover_text(
                "The CreateTrainingJob request, for aws sagemaker create-training-job \
                 --cli-input-json",
            )
            .clicked()
        {
            action = Some(DetailAction::Copy(Clip::request_json(&detail.request)));
        }
        if job.source.is_aws()
            && let Some(links) = crate::job::console::links(&detail.summary.arn)
            && let Some(chosen) = console_menu(ui, &links)
        {
            action = Some(chosen);
        }
    });
    action
}

/// "AWS console ▾": open or copy the job's page, its logs and its metrics.
fn console_menu(ui: &mut egui::Ui, links: &ConsoleLinks) -> Option<DetailAction> {
    let mut action = None;
    ui.menu_button("🔗 AWS console", |ui| {
        let entries = [
            ("Open in AWS console", "job page", &links.job),
            ("Open logs in CloudWatch", "logs", &links.logs),
            ("Open metrics", "metrics", &links.metrics),
        ];
        for (label, _, url) in entries {
            if ui.button(label).on_hover_text(url.as_str()).clicked() {
                action = Some(DetailAction::OpenUrl(url.clone()));
                ui.close();
            }
        }
        ui.separator();
        for (_, what, url) in entries {
            if ui.button(format!("Copy link: {what}")).clicked() {
                action = Some(DetailAction::Copy(Clip::plain(
                    format!("Link to the {what}"),
                    url.clone(),
                )));
                ui.close();
            }
        }
    });
    action
}

/// The "▶ Run locally" menu of a job on AWS: `what` says how it runs, and the user picks
/// whose AWS credentials it gets.
pub(crate) fn run_locally_menu(ui: &mut egui::Ui, what: &str) -> Option<JobCredentials> {
    let mut picked = None;
    ui.menu_button("▶ Run locally", |ui| {
        ui.set_max_width(280.0);
        ui.add(egui::Label::new(RichText::new(what).weak()).wrap());
        if ui
            .button("As its role")
            .on_hover_text(
                "The job gets its RoleArn's credentials, assumed with this connection \
                 (sts:AssumeRole); if the role does not trust you, it runs without \
                 credentials and its log says so",
            )
            .clicked()
        {
            picked = Some(JobCredentials::Role);
        }
        if ui
            .button("With my AWS credentials")
            .on_hover_text(
                "The job gets this connection's own credentials: it can do whatever \
                 you can, which its role might not allow",
            )
            .clicked()
        {
            picked = Some(JobCredentials::Mine);
        }
    });
    picked
}
