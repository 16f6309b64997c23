from mpcheckout.cli import main

main()
