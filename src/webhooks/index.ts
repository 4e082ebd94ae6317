export {
  createMailchimpWebhookHandler,
  type MailchimpWebhookOptions,
  type NodeRequestHandler,
  type WebhookGateway,
} from './mailchimp.ts';
