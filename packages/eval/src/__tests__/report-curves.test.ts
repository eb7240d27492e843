import { describe, expect, it } from 'vitest';
import { renderReport } from '../index';

describe('renderReport extra curves', () => {
  it('draws one plot per curve, titled and escaped, below the loss', () => {
    const html = renderReport({
      title: 't',
      lossCurve: [
        { step: 0, loss: 1 },
        { step: 1, loss: 0.5 },
      ],
      table: [],
      curves: [
        {
          title: 'Embedding std <1/√d>',
          label: 'std',
          points: [
            { step: 0, value: 0.1 },
            { step: 5, value: 0.02 },
          ],
        },
      ],
    });
    expect(html).toContain('<h2>Embedding std &lt;1/√d&gt;</h2>');
    expect(html.indexOf('Embedding std')).toBeGreaterThan(html.indexOf('Training loss'));
    expect(html.match(/<svg /g)).toHaveLength(2);
    expect(html).toMatch(/aria-label="Embedding std &lt;1\/√d&gt;"/);
  });
});
