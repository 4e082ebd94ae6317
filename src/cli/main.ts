/** The ops CLI's entry: bin/partner-gateway.js imports this module, which runs the command line. */
import { main } from './program.ts';

await main(process.argv);
