/** A job configuration problem; the message starts with the field it is about (`mappings.users[3].target: …`). */
export class ConfigError extends Error {
  constructor(
    readonly field: string,
    detail: string,
  ) {
    super(field ? `${field}: ${detail}` : detail);
    this.name = 'ConfigError';
  }
}
