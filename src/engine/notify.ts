/**
 * E-mail notifications (entra-provisioning-engine.md §10): one mail when the job enters quarantine, another
 * when the quarantine reason changes, and one when the accidental-deletion threshold is reached (§11).
 */
import nodemailer from 'nodemailer';
import type { MailConfig } from '../config.js';
import type { QuarantineInfo } from './state/store.js';

export interface Notifier {
  send(subject: string, text: string): Promise<void>;
}

/**
 * Mail through the deployment's SMTP server (config.ts "mail": SMTP_*, NOTIFY_EMAIL_FROM), the one server every
 * notice uses: the engine's (to the job's notifications.to, else the operators) and the webhooks' (the operators).
 */
export function smtpNotifier(mail: Pick<MailConfig, 'smtp' | 'from'>, to: readonly string[]): Notifier {
  const { smtp } = mail;
  const transport = nodemailer.createTransport({
    host: smtp.host,
    port: smtp.port,
    secure: smtp.secure ?? smtp.port === 465,
    ...(smtp.user ? { auth: { user: smtp.user, pass: smtp.password ?? '' } } : {}),
  });
  return {
    async send(subject, text) {
      await transport.sendMail({ from: mail.from, to: to.join(', '), subject, text });
    },
  };
}

const REASON_TEXT: Record<QuarantineInfo['reason'], string> = {
  EncounteredQuarantineException: 'the target rejected the credentials or could not be reached',
  EncounteredEscrowProportionThreshold: 'more than 40% of the provisioning events are failing',
  EncounteredTotalEscrowThreshold: 'the number of failing objects reached the absolute limit',
  EncounteredBaseEscrowThreshold: 'too many objects are failing',
  TooManyDeletes: 'the accidental-deletion threshold was reached',
};

export function quarantineMessage(
  job: string,
  q: QuarantineInfo,
  changed: boolean,
): { subject: string; text: string } {
  const subject =
    q.reason === 'TooManyDeletes'
      ? `[joyn-scim] ${job}: deletion threshold reached, deletions held back`
      : `[joyn-scim] ${job}: provisioning ${changed ? 'quarantine reason changed' : 'has been quarantined'}`;
  const text = [
    `Provisioning job '${job}' has been quarantined: ${REASON_TEXT[q.reason]}.`,
    '',
    `Reason: ${q.reason}`,
    `Detail: ${q.error}`,
    `Quarantined since: ${q.seriesBegan}`,
    q.nextAttempt
      ? `Next attempt: ${q.nextAttempt} (retries after 6 h, 12 h, 24 h, then daily; the job is disabled after four weeks)`
      : '',
    q.reason === 'TooManyDeletes'
      ? "Review the staged deletions with 'joyn-scim sync logs --action stagedDelete', then run 'joyn-scim sync allow-deletes' or fix the source and 'joyn-scim sync restart'."
      : "Check the provisioning logs ('joyn-scim sync logs --status failure') and fix the cause; the job leaves quarantine after its next successful cycle.",
  ]
    .filter((l) => l !== '')
    .join('\n');
  return { subject, text };
}
