// Package reliability is the fault suite of the sessions library and its
// greeter: it runs the real greeter binary (and, where the test must look
// inside the process, an in-process server built from the library) against
// real Firestore emulator processes that the tests start, SIGKILL and
// restart, and checks that every request gets a clean answer in time, that
// no view is lost, and that the service recovers by itself.
//
// The package has only tests. From this directory:
//
//	./ci.sh  (go test -race -count=1 -timeout 15m -v ./...)          # short form (CI)
//	go test -count=1 -timeout 30m ./... -full -report ../RELIABILITY.md
//
// -full runs the full figures (10 s hot load, 20,000-request
// soak, ...); without it every case still runs, with fewer requests and
// shorter loads. -report FILE writes the table of figures into FILE between
// the generated-section markers (or as JSON when FILE ends in .json).
// -greeter-race builds the greeter with the race detector too.
//
// The cases (see RELIABILITY.md for what each checks):
//
//	TestStoreDownAtStart        case 1 (greeter binary; in-process variant)
//	TestStoreDiesUnderLoad      case 2 (greeter binary; in-process for goroutines)
//	TestStoreHangs              case 2b: the store freezes (SIGSTOP)
//	TestHotSession              case 3 (one greeter; two greeters)
//	TestClientGivesUp           case 4 (greeter binary; in-process server)
//	TestGracefulShutdown        case 5
//	TestHostileInput            case 6
//	TestSoak                    case 7
//	TestInstanceKilledMidVisit  case 8: one of two greeters SIGKILLed under load
//	TestRaceHistories           case 9: three in-process instances, random races and
//	                            lost answers, histories checked against a session model;
//	                            each seed on Firestore and on the memory store
//
// -seed N replays the race suite's history of seed N (the seeds of failing
// histories are printed); the interleaving of its concurrent workers is
// the scheduler's, so a replay draws the same operations but may race
// differently.
package reliability
