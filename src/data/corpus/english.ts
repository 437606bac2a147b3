// Procedural English prose for the built-in corpus: hand-written sentence frames over topic word
// lists, one topic per document, no frame used twice in a document (so Gopher's repetition rules pass).
import type { Rng } from '../hashing.js';

interface Topic { name: string; places: string[]; people: string[]; things: string[]; adjs: string[]; acts: string[]; ideas: string[] }

const TOPICS: Topic[] = [
  { name: 'the seasons', places: ['the riverbank', 'the hillside', 'the park', 'the orchard', 'the old lane', 'the lakeshore'], people: ['the gardener', 'a retired teacher', 'the children', 'two neighbours', 'a farmer', 'the postman'],
    things: ['the first frost', 'a spring shower', 'the falling leaves', 'the long shadows', 'a warm breeze', 'the morning mist'], adjs: ['quiet', 'bright', 'damp', 'golden', 'chilly', 'gentle'],
    acts: ['opened every window in the house', 'carried the chairs inside', 'watched the sky for a long time', 'planted a row of beans', 'raked the path clean', 'put on a heavier coat'],
    ideas: ['the turning of the year', 'patience with the weather', 'the rhythm of planting', 'how light changes a place'] },
  { name: 'the city', places: ['the station', 'the covered market', 'the public library', 'a corner cafe', 'the bus depot', 'the central square'], people: ['a commuter', 'the taxi driver', 'the shopkeeper', 'a student', 'the street sweeper', 'a tourist'],
    things: ['the traffic lights', 'a faded sign', 'a rented bicycle', 'the night bus', 'the stairwell', 'a crowded tram'], adjs: ['crowded', 'noisy', 'narrow', 'newly built', 'half-empty', 'bright'],
    acts: ['hurried across the road', 'ordered a second coffee', 'checked the map again', 'waited under the awning', 'called an old friend', 'counted the coins twice'],
    ideas: ['the pace of city life', 'how strangers share a street', 'the value of public space', 'the noise that never stops'] },
  { name: 'cooking', places: ['the kitchen', 'a small restaurant', 'the farmhouse', 'the school canteen', 'a food stall', 'the bakery'], people: ['the cook', 'my grandmother', 'a hungry guest', 'the apprentice', 'the head chef', 'my brother'],
    things: ['a pot of soup', 'fresh bread', 'the rice cooker', 'a wooden spoon', 'a jar of pickles', 'the spice rack'], adjs: ['savoury', 'spicy', 'fragrant', 'steaming', 'crisp', 'tender'],
    acts: ['turned the heat down low', 'chopped the onions finely', 'tasted the sauce again', 'warmed the plates first', 'set out every ingredient', 'wrapped the leftovers carefully'],
    ideas: ['cooking with the season', 'the memory of a meal', 'the order of a good table', 'feeding a crowd on a budget'] },
  { name: 'science', places: ['the laboratory', 'the observatory', 'the field station', 'a classroom', 'the greenhouse', 'the museum basement'], people: ['the researcher', 'a young scientist', 'the physics teacher', 'a graduate student', 'the technician', 'an explorer'],
    things: ['the microscope', 'a telescope', 'the thermometer', 'a bar magnet', 'a quartz crystal', 'a fossil shell'], adjs: ['precise', 'tiny', 'transparent', 'heavy', 'ancient', 'delicate'],
    acts: ['wrote each reading in the notebook', 'repeated the experiment from the start', 'revised the hypothesis with care', 'compared the results with a colleague', 'cleaned the equipment', 'drew the graph again'],
    ideas: ['careful observation', 'the sources of error', 'the worth of repeating a test', 'the habit of asking questions'] },
  { name: 'travel', places: ['the harbour', 'a mountain hut', 'the border town', 'an island village', 'the hot springs', 'the mountain pass'], people: ['the traveller', 'a local guide', 'the ferry captain', 'the innkeeper', 'a photographer', 'a hiker'],
    things: ['a worn backpack', 'the paper map', 'a train ticket', 'a brass compass', 'a stack of postcards', 'a pair of boots'], adjs: ['distant', 'unfamiliar', 'remote', 'steep', 'lovely', 'simple'],
    acts: ['waited for the next train', 'asked for directions', 'wrote the day down in a diary', 'repacked the bag to make it lighter', 'walked toward the sunset', 'tried the local food'],
    ideas: ['why people leave home', 'meetings on the road', 'slow travel', 'what it means to return'] },
  { name: 'technology', places: ['the workshop', 'the factory floor', 'an office', 'the server room', 'the meeting room', 'a research park'], people: ['the developer', 'an engineer', 'the designer', 'the operator', 'a product manager', 'the repair technician'],
    things: ['the computer', 'an old program', 'a small robot', 'the sensor', 'a spreadsheet of data', 'the circuit board'], adjs: ['fast', 'stable', 'lightweight', 'complicated', 'efficient', 'clever'],
    acts: ['reviewed the code line by line', 'found the cause of the fault', 'recorded the test results', 'simplified the design', 'replaced the worn part', 'tidied up the documentation'],
    ideas: ['the power of simplicity', 'technology and people', 'learning from failure', 'the history of tools'] },
  { name: 'school', places: ['the playground', 'the classroom', 'the school library', 'the music room', 'the corridor', 'the gym'], people: ['the class teacher', 'the class captain', 'a new pupil', 'a former student', 'a parent', 'the head teacher'],
    things: ['the textbook', 'the blackboard', 'the timetable', 'an exercise book', 'a pencil case', 'the school report'], adjs: ['noisy', 'exciting', 'calm', 'tense', 'cheerful', 'familiar'],
    acts: ['finished the homework first', 'practised the presentation', 'borrowed a friend\'s notes', 'ran two laps of the field', 'raised a hand to ask', 'cleared the desk'],
    ideas: ['the joy of learning', 'the start of a friendship', 'exams and growing up', 'dreams and careers'] },
  { name: 'the sea', places: ['the fishing port', 'the lighthouse', 'the sandy beach', 'the mud flats', 'the breakwater', 'the fish market'], people: ['the fisherman', 'a diver', 'the sailor', 'the lighthouse keeper', 'a swimmer', 'the trader'],
    things: ['the fishing net', 'a tall wave', 'a seagull', 'a clam shell', 'a small sailboat', 'the horizon'], adjs: ['blue', 'rough', 'calm', 'salty', 'wide', 'glittering'],
    acts: ['launched the boat before dawn', 'mended the nets', 'checked the tide table', 'shared out the catch', 'studied the wind', 'wrote a name in the sand'],
    ideas: ['living from the sea', 'the wisdom of the tides', 'island life', 'the time of the waves'] },
];

const TIMES = ['early in the morning', 'at noon', 'towards evening', 'late at night', 'on a Sunday afternoon', 'one spring day', 'in the rainy season', 'in midwinter', 'before dawn', 'on a Monday morning'];
const LINKS = ['However,', 'So', 'Meanwhile,', 'Then', 'Besides,', 'After that,', 'In the end,', 'Above all,', 'Of course,', 'Luckily,'];
const cap = (s: string): string => s[0].toUpperCase() + s.slice(1);

type Frame = (t: Topic, r: Rng, pick: <T>(xs: T[]) => T) => string;
const FRAMES: Frame[] = [
  (t, _r, p) => `${cap(p(TIMES))}, at ${p(t.places)}, ${p(t.people)} ${p(t.acts)}.`,
  (t, _r, p) => `${cap(p(t.people))} looked at ${p(t.things)} and ${p(t.acts)}.`,
  (t, _r, p) => `${p(LINKS)} the area around ${p(t.places)} was full of ${p(t.adjs)} things.`,
  (t, _r, p) => `The story of ${p(t.things)} was told among the people of ${p(t.places)} for years.`,
  (t, _r, p) => `${cap(p(t.people))} said that ${p(t.ideas)} is less simple than it looks.`,
  (t, r, p) => `Only ${r.int(9) + 2} years ago there was nothing like ${p(t.things)} at ${p(t.places)}.`,
  (t, _r, p) => `When ${p(t.people)} reached ${p(t.places)}, ${p(t.things)} was already in sight.`,
  (t, _r, p) => `People held very different opinions about ${p(t.ideas)}.`,
  (t, _r, p) => `${p(LINKS)} ${p(t.people)} went to ${p(t.places)} to look for records about ${p(t.things)}.`,
  (t, r, p) => `That day, ${r.int(40) + 3} people gathered at ${p(t.places)}.`,
  (t, _r, p) => `In the ${p(t.adjs)} air of ${p(t.places)}, ${p(t.people)} paused for a moment.`,
  (t, _r, p) => `Seeing ${p(t.things)} for the first time, ${p(t.people)} tilted their head.`,
  (t, _r, p) => `In the view of ${p(t.people)}, ${p(t.ideas)} begins with small habits.`,
  (t, _r, p) => `${cap(p(TIMES))}, ${p(t.people)} never forgot to check on ${p(t.things)}.`,
  (t, _r, p) => `A ${p(t.adjs)} sound came from the direction of ${p(t.places)}, and everyone turned.`,
  (t, _r, p) => `${p(LINKS)} nobody knew exactly what ${p(t.things)} was for.`,
  (t, _r, p) => `For ${p(t.people)}, ${p(t.places)} was always remembered as a ${p(t.adjs)} place.`,
  (t, r, p) => `In month ${r.int(12) + 1}, ${p(t.places)} was far ${p(['quieter', 'busier', 'calmer', 'livelier'])} than usual.`,
  (t, _r, p) => `A note left by ${p(t.people)} held a short sentence about ${p(t.ideas)}.`,
  (t, _r, p) => `${cap(p(t.things))} had a ${p(t.adjs)} shine that could be seen from far away.`,
  (t, _r, p) => `After hearing ${p(t.people)}, ${p(t.people)} immediately ${p(t.acts)}.`,
  (t, _r, p) => `${p(LINKS)} the view from ${p(t.places)} changed a little every year.`,
  (t, _r, p) => `Someone called ${p(t.things)} a symbol of ${p(t.ideas)}.`,
  (t, _r, p) => `${cap(p(TIMES))}, ${p(t.places)} felt ${p(t.adjs)} and full of life.`,
];

/** One English document: a title line and two to four paragraphs on one topic. */
export function englishDoc(r: Rng): string {
  const pick = <T>(xs: T[]): T => xs[r.int(xs.length)];
  const t = pick(TOPICS);
  const order = FRAMES.map((_, i) => i).sort(() => r.next() - 0.5);
  const title = pick([`A short piece on ${t.name}`, `A day at ${pick(t.places)}`, `On ${pick(t.ideas)}`, `Notes about ${t.name}`]);
  const paras: string[] = [title];
  let k = 0;
  const nParas = 2 + r.int(3);
  for (let p = 0; p < nParas; p++) {
    const sents: string[] = [];
    const n = 3 + r.int(3);
    for (let s = 0; s < n && k < order.length; s++, k++) sents.push(FRAMES[order[k]](t, r, pick).replace(/^(\w)/, (c) => c.toUpperCase()));
    paras.push(sents.join(' '));
  }
  return paras.join('\n\n');
}
