/**
 * ImageFinishGadget: the end of a chain. Text messages are logged and dropped;
 * everything else goes on to the writers.
 */
import { defineGadget } from '../engine/gadget.js';
import { isText } from '../ismrmrd/messages.js';

export const imageFinishGadget = defineGadget({
  name: 'ImageFinishGadget',
  classNames: ['ImageFinishGadget'],
  properties: {},
  strict: false,
  description: 'Ends a chain: logs and drops text, forwards everything else',
  accepts: isText,
  async run(input, _output, _props, context) {
    for await (const message of input) context.log.info('text from pipeline', { length: message.text.length });
  },
});
