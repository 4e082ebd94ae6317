// prepublishOnly: partner-gateway is a company's own library (UNLICENSED), published to its private
// registry or installed from git or a tarball. This stops an `npm publish` aimed at the public npm
// registry, the default when no registry is configured.
const registry = process.env.npm_config_registry ?? 'https://registry.npmjs.org/';
if (/^https?:\/\/registry\.(npmjs\.org|yarnpkg\.com)\/?$/.test(registry)) {
  process.stderr.write(
    `partner-gateway: refusing to publish to the public registry ${registry}; ` +
      'publish with --registry <your private registry> (or set publishConfig.registry)\n',
  );
  process.exit(1);
}
